package dsn

import "fmt"

// Kind is the sort of notification a Report describes.
type Kind int

// The kinds of notification.
const (
	// Failure is a non-delivery report: the message could not be
	// delivered to the listed recipients and will not be retried.
	Failure Kind = iota
	// Delay is a warning that delivery is still being retried.
	Delay
	// Success reports final delivery (Action: delivered).
	Success
	// Relayed reports that the message was handed on to a system that
	// does not return notifications itself (Action: relayed).
	Relayed
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Failure:
		return "failure"
	case Delay:
		return "delay"
	case Success:
		return "success"
	case Relayed:
		return "relayed"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) valid() bool { return k >= Failure && k <= Relayed }

// action is the Action value used for recipients that do not give one.
func (k Kind) action() string {
	switch k {
	case Delay:
		return "delayed"
	case Success:
		return "delivered"
	case Relayed:
		return "relayed"
	}
	return "failed"
}

// subject is the Subject of the notification.
func (k Kind) subject() string {
	switch k {
	case Delay:
		return "Delayed Mail (still being retried)"
	case Success, Relayed:
		return "Successful Mail Delivery Report"
	}
	return "Undelivered Mail Returned to Sender"
}

// Actions allowed in the Action field (RFC 3464 section 2.3.3).
var actions = map[string]bool{
	"failed":    true,
	"delayed":   true,
	"delivered": true,
	"relayed":   true,
	"expanded":  true,
}

// defaultStatus is the status used when a recipient has none (or an
// invalid one): the generic code of the class matching its action.
func defaultStatus(action string) string {
	switch action {
	case "failed":
		return "5.0.0"
	case "delayed":
		return "4.0.0"
	}
	return "2.0.0"
}

// intro is the opening of the human-readable part, after the line
// naming the reporting host.
func (k Kind) intro() []string {
	switch k {
	case Delay:
		return []string{
			"####################################################################",
			"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
			"####################################################################",
			"",
			"Your message has not yet been delivered to the recipient(s)",
			"listed below. The mail system will keep trying to deliver it.",
		}
	case Success, Relayed:
		return []string{
			"Your message was successfully delivered to the destination(s)",
			"listed below. If the message was delivered to a mailbox you will",
			"receive no further notifications. Otherwise you may still receive",
			"notifications of mail delivery errors from other systems.",
		}
	}
	return []string{
		"I'm sorry to have to inform you that your message could not",
		"be delivered to one or more recipients. It's attached below.",
		"",
		"For further assistance, please send mail to postmaster.",
		"",
		"If you do so, please include this problem report. You can",
		"delete your own text from the attached returned message.",
	}
}
