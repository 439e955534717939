package spf

// Result is an SPF result (RFC 7208 2.6), lower-case as
// Authentication-Results writes it.
type Result string

// The results of check_host() (RFC 7208 2.6).
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Title is the result as Received-SPF writes it: "Pass", "Softfail",
// "Temperror"... (the capitalization policyd-spf uses).
func (r Result) Title() string {
	if r == "" {
		return ""
	}
	b := []byte(r)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// Identity is which identity a Verdict is about (RFC 7208 2.3, 2.4).
type Identity string

const (
	HELO     Identity = "helo"
	MailFrom Identity = "mailfrom"
)

// DefaultExplanation is the explanation of a fail whose record gives
// none (or an unusable one) through exp= (RFC 7208 6.2).
const DefaultExplanation = "SPF fail - not authorized"

// Verdict is the outcome of checking one identity.
type Verdict struct {
	Result   Result
	Identity Identity
	// Domain is the domain checked: the MAIL FROM domain, or the HELO
	// name (also for a null MAIL FROM, RFC 7208 2.4).
	Domain string
	// Sender is the <sender> of check_host(): the MAIL FROM address, or
	// postmaster@ the HELO name.
	Sender string
	// Mechanism is the term that decided the result as written in the
	// record ("-all", "ip4:192.0.2.0/24", "include:_spf.example.com"),
	// "default" when none matched, "" when no record was evaluated.
	Mechanism string
	// Explanation is, for Fail, the text of exp= (macros expanded) or
	// DefaultExplanation; for PermError and TempError what went wrong.
	Explanation string
	// Lookups and VoidLookups count the DNS-querying terms and the void
	// lookups of the evaluation (RFC 7208 4.6.4).
	Lookups, VoidLookups int
}

// Comment is the reason policyd-spf gives with a result (its result
// texts, from pyspf): the explanation of a fail or error, else a fixed
// phrase per result.
func (v *Verdict) Comment() string {
	switch v.Result {
	case Pass:
		return "sender SPF authorized"
	case Neutral:
		return "access neither permitted nor denied"
	case SoftFail:
		return "domain owner discourages use of this host"
	case None:
		return "no SPF record"
	case Fail:
		if v.Explanation != "" {
			return v.Explanation
		}
		return DefaultExplanation
	case TempError:
		return "SPF Temporary Error: " + v.Explanation
	case PermError:
		return "SPF Permanent Error: " + v.Explanation
	}
	return ""
}
