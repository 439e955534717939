package msgauth

import (
	"context"

	"mailwarden/internal/envelope"
)

// iprev records the forward-confirmed reverse DNS of the client (RFC 8601
// 3, "iprev"), from the lookup the SMTP session made once at connect.
type iprev struct{}

func init() {
	RegisterVerifier(OrderIPRev, "iprev", func(Deps) (Verifier, error) { return iprev{}, nil })
}

func (iprev) Verify(_ context.Context, m *Message) error {
	c := m.Env.Client
	ip := m.Env.ClientIP
	if !ip.IsValid() {
		return nil // not from the network (pickup)
	}
	r := envelope.AuthResult{Method: "iprev", Props: []envelope.AuthProp{{Type: "policy", Name: "iprev", Value: ip.String()}}}
	switch {
	case c.HostConfirmed && m.Env.ClientHost != "" && m.Env.ClientHost != "unknown":
		r.Result, r.Comment = "pass", m.Env.ClientHost
	case c.ReverseTemp:
		r.Result = "temperror" // RFC 8601 2.7.3: a DNS error, may succeed later
	default:
		r.Result = "fail" // no PTR, or its name does not resolve back
		if c.ReverseHost != "" {
			r.Comment = c.ReverseHost
		}
	}
	m.Env.Auth = append(m.Env.Auth, r)
	return nil
}
