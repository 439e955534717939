package imapwire

import "strings"

// NotifyEvent is one event of a NOTIFY event group (RFC 5465 5). Name is
// in the RFC's case for the events it defines ("MessageNew"), and the
// atom in upper case for any other (the server refuses those with
// BADEVENT, RFC 5465 3.1, so the parser must not).
type NotifyEvent struct {
	Name  string
	Fetch []FetchItem // MessageNew's fetch attributes (RFC 5465 5.2)
}

// NotifyGroup is one event group: a mailbox filter and its events.
type NotifyGroup struct {
	// Filter is SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL,
	// SUBSCRIBED, SUBTREE or MAILBOXES (RFC 5465 6).
	Filter    string
	Mailboxes []string      // of SUBTREE and MAILBOXES, as sent
	Events    []NotifyEvent // none for NONE
}

// NotifyArgs: NOTIFY NONE, or NOTIFY SET [STATUS] group... (RFC 5465 8).
type NotifyArgs struct {
	None   bool
	Status bool
	Groups []NotifyGroup
}

// Events of RFC 5465 5, by upper-case name.
var notifyEvents = map[string]string{
	"MESSAGENEW": "MessageNew", "MESSAGEEXPUNGE": "MessageExpunge", "FLAGCHANGE": "FlagChange",
	"ANNOTATIONCHANGE": "AnnotationChange", "MAILBOXNAME": "MailboxName",
	"SUBSCRIPTIONCHANGE": "SubscriptionChange", "MAILBOXMETADATACHANGE": "MailboxMetadataChange",
	"SERVERMETADATACHANGE": "ServerMetadataChange",
}

// messageEvents are RFC 5465's message-event names.
var messageEvents = map[string]bool{"MessageNew": true, "MessageExpunge": true, "FlagChange": true, "AnnotationChange": true}

// maxNotifyGroups bounds the event groups of one NOTIFY; a group names
// its mailboxes within the command's size limit.
const maxNotifyGroups = 64

func parseNotify(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	w, err := r.keyword("SET or NONE")
	if err != nil {
		return nil, err
	}
	a := &NotifyArgs{}
	switch w {
	case "NONE":
		a.None = true
		return a, nil
	case "SET":
	default:
		return nil, r.errorf("expected SET or NONE, got %s", w)
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c != '(' {
		if w, err := r.keyword("STATUS"); err != nil {
			return nil, err
		} else if w != "STATUS" {
			return nil, r.errorf("expected STATUS or an event group, got %s", w)
		}
		a.Status = true
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	selected := false
	for {
		if len(a.Groups) >= maxNotifyGroups {
			return nil, r.errorf("too many event groups")
		}
		g, err := r.notifyGroup()
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(g.Filter, "SELECTED") {
			// RFC 5465 6.1: only one of SELECTED and SELECTED-DELAYED.
			if selected {
				return nil, r.errorf("SELECTED given twice")
			}
			selected = true
		}
		a.Groups = append(a.Groups, g)
		if ok, err := r.accept(' '); err != nil || !ok {
			return a, err
		}
	}
}

// notifyGroup reads "(" filter-mailboxes SP events ")".
func (r *Reader) notifyGroup() (NotifyGroup, error) {
	var g NotifyGroup
	if err := r.expect('('); err != nil {
		return g, err
	}
	f, err := r.keyword("mailbox filter")
	if err != nil {
		return g, err
	}
	switch f {
	case "SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED":
	case "SUBTREE", "MAILBOXES":
		if err := r.sp(); err != nil {
			return g, err
		}
		if g.Mailboxes, err = r.oneOrMoreMailbox(); err != nil {
			return g, err
		}
	default:
		return g, r.errorf("unknown mailbox filter %s", f)
	}
	g.Filter = f
	if err := r.sp(); err != nil {
		return g, err
	}
	if ok, err := r.accept('('); err != nil {
		return g, err
	} else if !ok {
		if w, err := r.keyword("events"); err != nil {
			return g, err
		} else if w != "NONE" {
			return g, r.errorf("expected ( or NONE, got %s", w)
		}
		return g, r.expect(')')
	}
	err = r.items(false, func() error {
		ev, err := r.notifyEvent()
		g.Events = append(g.Events, ev)
		return err
	})
	if err != nil {
		return g, err
	}
	if err := checkEvents(r, g); err != nil {
		return g, err
	}
	return g, r.expect(')')
}

// notifyEvent reads one event, with MessageNew's optional fetch-att list.
func (r *Reader) notifyEvent() (NotifyEvent, error) {
	w, err := r.keyword("event")
	if err != nil {
		return NotifyEvent{}, err
	}
	ev := NotifyEvent{Name: w}
	if n, ok := notifyEvents[w]; ok {
		ev.Name = n
	}
	if ev.Name != "MessageNew" {
		return ev, nil
	}
	if b, err := r.br.Peek(2); err != nil || string(b) != " (" {
		return ev, nil
	}
	if err := r.sp(); err != nil {
		return ev, err
	}
	ev.Fetch, err = r.fetchAttList()
	return ev, err
}

// fetchAttList reads "(" fetch-att *(SP fetch-att) ")" (RFC 5465 8,
// also the UPDATE return option's list of RFC 5465 7).
func (r *Reader) fetchAttList() ([]FetchItem, error) {
	if err := r.expect('('); err != nil {
		return nil, err
	}
	var items []FetchItem
	err := r.items(false, func() error {
		it, err := r.fetchItem("")
		items = append(items, it)
		return err
	})
	return items, err
}

// checkEvents applies the rules of RFC 5465 5 and 6.1 that call for BAD:
// MessageNew and MessageExpunge only together, FlagChange and
// AnnotationChange only with both, only message events with SELECTED.
func checkEvents(r *Reader, g NotifyGroup) error {
	has := map[string]bool{}
	for _, ev := range g.Events {
		has[ev.Name] = true
		if strings.HasPrefix(g.Filter, "SELECTED") && !messageEvents[ev.Name] {
			if _, known := notifyEvents[strings.ToUpper(ev.Name)]; known {
				return r.errorf("%s can't be used with %s", ev.Name, g.Filter)
			}
		}
	}
	if has["MessageNew"] != has["MessageExpunge"] {
		return r.errorf("MessageNew and MessageExpunge go together")
	}
	if (has["FlagChange"] || has["AnnotationChange"]) && !has["MessageNew"] {
		return r.errorf("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
	}
	return nil
}

// oneOrMoreMailbox reads a mailbox or "(" mailbox *(SP mailbox) ")".
func (r *Reader) oneOrMoreMailbox() ([]string, error) {
	if ok, err := r.accept('('); err != nil {
		return nil, err
	} else if !ok {
		m, err := r.mailbox()
		if err != nil {
			return nil, err
		}
		return []string{m}, nil
	}
	var out []string
	err := r.items(false, func() error {
		m, err := r.mailbox()
		out = append(out, m)
		return err
	})
	return out, err
}

// CancelUpdateArgs: CANCELUPDATE tag... (RFC 5267 4.3.5).
type CancelUpdateArgs struct {
	Tags []string
}

func parseCancelUpdate(r *Reader, _ *Command) (any, error) {
	a := &CancelUpdateArgs{}
	for {
		if err := r.sp(); err != nil {
			return nil, err
		}
		t, err := r.quoted()
		if err != nil {
			return nil, err
		}
		a.Tags = append(a.Tags, t)
		if c, err := r.peek(); err != nil || c != ' ' {
			return a, err
		}
	}
}
