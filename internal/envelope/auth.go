package envelope

import "strings"

// AuthResult is the outcome of one message-authentication method as
// Authentication-Results writes it (RFC 8601 2.2):
//
//	method=result (reason) ptype.property=value ...
//
// The checks of internal/msgauth (SPF, DKIM, DomainKeys, ARC, DMARC,
// iprev) each produce some; they are kept on the envelope in the order
// they were made and written into one Authentication-Results field.
type AuthResult struct {
	Method string // "spf", "dkim", "domainkeys", "dmarc", "arc", "iprev", "auth"
	// Result is the method's result keyword: "pass", "fail", "softfail",
	// "neutral", "none", "temperror", "permerror", "policy".
	Result  string
	Reason  string // free text written as reason="...", "" when none
	Comment string // written as a (comment) after the result, "" when none
	Props   []AuthProp
}

// AuthProp is one "ptype.property=value" of an AuthResult, e.g.
// {"smtp", "mailfrom", "example.com"} or {"header", "d", "example.com"}.
type AuthProp struct {
	Type, Name, Value string
}

// Prop returns the value of the property ptype.name, "" when absent.
func (r AuthResult) Prop(ptype, name string) string {
	for _, p := range r.Props {
		if strings.EqualFold(p.Type, ptype) && strings.EqualFold(p.Name, name) {
			return p.Value
		}
	}
	return ""
}
