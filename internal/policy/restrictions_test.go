package policy

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
)

func restrictionsConfig(set map[string][]string, classes map[string][]string) *config.Config {
	cfg := config.Default()
	cfg.Restrictions.Set = map[string]bool{}
	cfg.Restrictions.Classes = classes
	rs := &cfg.Restrictions
	lists := map[string]*[]string{"client": &rs.Client, "helo": &rs.Helo, "sender": &rs.Sender, "relay": &rs.Relay,
		"recipient": &rs.Recipient, "data": &rs.Data, "end_of_data": &rs.EndOfData}
	for k, v := range set {
		rs.Set[k] = true
		*lists[k] = v
	}
	return cfg
}

// The restriction names behave as Postfix's, with Postfix's replies.
func TestBuildRestrictions(t *testing.T) {
	ctx := context.Background()
	foreign := &directory.Resolution{Class: directory.Foreign, Destinations: []directory.Destination{{Kind: directory.Remote, Address: "x@far.example"}}}
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local, Address: "a@here.example", Mailbox: directory.Mailbox{Username: "a@here.example"}}}}
	env := func(helo string) *envelope.Envelope {
		return &envelope.Envelope{ClientIP: netip.MustParseAddr("192.0.2.7"), ClientHost: "unknown", Helo: helo}
	}
	rcpt := func(helo, sender, to string, res *directory.Resolution) *Request {
		return &Request{Stage: Rcpt, Env: env(helo), Sender: sender, Recipient: to, Resolution: res}
	}
	for _, tc := range []struct {
		name    string
		set     map[string][]string
		classes map[string][]string
		req     *Request
		want    string
	}{
		{"default relay list", nil, nil, rcpt("a.example", "s@b.example", "x@far.example", foreign), "554 5.7.1 <x@far.example>: Relay access denied"},
		{"client reject, delayed to RCPT", map[string][]string{"client": {"reject"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), "554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied"},
		{"helo permit ends its list only", map[string][]string{"helo": {"permit", "reject"}, "recipient": {"defer"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), "450 4.7.1 <a@here.example>: Recipient address rejected: Access denied"},
		{"invalid helo", map[string][]string{"helo": {"reject_invalid_helo_hostname"}}, nil,
			rcpt("bad_host..name", "s@b.example", "a@here.example", local), "501 5.5.2 <bad_host..name>: Helo command rejected: Invalid name"},
		{"non-fqdn helo", map[string][]string{"helo": {"reject_non_fqdn_helo_hostname"}}, nil,
			rcpt("localhost", "s@b.example", "a@here.example", local), "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
		{"address literal helo is fine", map[string][]string{"helo": {"reject_non_fqdn_helo_hostname", "reject_invalid_helo_hostname"}}, nil,
			rcpt("[192.0.2.7]", "s@b.example", "a@here.example", local), ""},
		{"non-fqdn sender", map[string][]string{"sender": {"reject_non_fqdn_sender"}}, nil,
			rcpt("a.example", "s@localhost", "a@here.example", local), "504 5.5.2 <s@localhost>: Sender address rejected: need fully-qualified address"},
		{"warn_if_reject logs instead", map[string][]string{"sender": {"warn_if_reject", "reject_non_fqdn_sender"}}, nil,
			rcpt("a.example", "s@localhost", "a@here.example", local), ""},
		{"defer_if_reject", map[string][]string{"recipient": {"defer_if_reject", "reject"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), "450 4.7.1 <a@here.example>: Recipient address rejected: Access denied"},
		{"defer_if_permit on an implicit permit", map[string][]string{"client": {"defer_if_permit"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), "450 4.7.1 <unknown[192.0.2.7]>: Client host rejected: Service unavailable"},
		{"defer_if_permit, then a reject wins", map[string][]string{"client": {"defer_if_permit"}, "recipient": {"reject"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), "554 5.7.1 "},
		{"multi-recipient bounce", map[string][]string{"recipient": {"reject_multi_recipient_bounce"}}, nil,
			&Request{Stage: Rcpt, Env: &envelope.Envelope{Recipients: []envelope.Recipient{{Address: "b@here.example"}}}, Recipient: "a@here.example", Resolution: local},
			"550 5.5.3 <a@here.example>: Recipient address rejected: Multi-recipient bounce"},
		{"restriction class", map[string][]string{"recipient": {"strict", "permit"}}, map[string][]string{"strict": {"reject_non_fqdn_recipient", "reject_unauth_destination"}},
			rcpt("a.example", "s@b.example", "x@far.example", foreign), "554 5.7.1 <x@far.example>: Relay access denied"},
		{"permit_auth_destination", map[string][]string{"relay": {"permit_auth_destination", "reject"}}, nil,
			rcpt("a.example", "s@b.example", "a@here.example", local), ""},
		{"defer_unauth_destination", map[string][]string{"relay": {"defer_unauth_destination"}}, nil,
			rcpt("a.example", "s@b.example", "x@far.example", foreign), "450 4.7.1 <x@far.example>: Relay access denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := Build("smtp", restrictionsConfig(tc.set, tc.classes), Deps{})
			if err != nil {
				t.Fatal(err)
			}
			got := ls.AtRcpt(ctx, tc.req).Reply()
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		set  map[string][]string
		want string
	}{
		{map[string][]string{"client": {"permit_everyone"}}, `restrictions.client: "permit_everyone": unknown restriction "permit_everyone"`},
		{map[string][]string{"recipient": {"reject_rbl_client zen.example=127.0.0.[2..x]"}}, "bad range"},
		{map[string][]string{"recipient": {"reject_rbl_client"}}, "wants one DNS list"},
		{map[string][]string{"helo": {"sleep x"}}, "sleep"},
		{map[string][]string{"relay": {"permit_mynetworks extra"}}, "takes no argument"},
	} {
		_, err := Build("smtp", restrictionsConfig(tc.set, nil), Deps{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
	// A class that names itself ends, with an error.
	_, err := Build("smtp", restrictionsConfig(map[string][]string{"recipient": {"loop"}}, map[string][]string{"loop": {"loop"}}), Deps{})
	if err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Errorf("self-naming class: %v", err)
	}
}

// check_*_access: access(5) key order and actions.
func TestAccessRestrictions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clients := write("clients.cidr", "192.0.2.0/24 REJECT go away\n198.51.100.7 OK\n203.0.113.0/24 strict\n")
	senders := write("senders", "spam.example 550 5.7.0 no spam here\nfriend@spam.example OK\nsub.example DUNNO\nexample DEFER_IF_PERMIT try later\nhold.example HOLD look\nbcc.example BCC archive@here.example\nprep.example PREPEND X-Flag: yes\n")
	helos := write("helos.regexp", "/^localhost$/ 504 5.5.2 not you\n/\\.dyn\\./ reject_non_fqdn_sender\n")
	cfg := restrictionsConfig(map[string][]string{
		"client": {"check_client_access cidr:" + clients},
		"helo":   {"check_helo_access regexp:" + helos},
		"sender": {"check_sender_access hash:" + senders},
	}, map[string][]string{"strict": {"reject_non_fqdn_helo_hostname"}})
	ls, err := Build("smtp", cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local, Address: "a@here.example"}}}
	for _, tc := range []struct {
		ip, helo, sender string
		want             string
		effect           string
	}{
		{"192.0.2.9", "a.example", "s@b.example", "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: go away", ""},
		{"198.51.100.7", "localhost", "s@spam.example", "504 5.5.2 <localhost>: Helo command rejected: not you", ""}, // OK ends the client list only
		{"198.51.100.7", "a.example", "friend@spam.example", "", ""},
		{"203.0.113.5", "localhost", "s@b.example", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", ""},
		{"10.0.0.1", "localhost", "s@b.example", "504 5.5.2 <localhost>: Helo command rejected: not you", ""},
		{"10.0.0.1", "h.dyn.example", "s@localhost", "504 5.5.2 <s@localhost>: Sender address rejected: need fully-qualified address", ""},
		{"10.0.0.1", "a.example", "s@spam.example", "550 5.7.0 <s@spam.example>: Sender address rejected: no spam here", ""},
		{"10.0.0.1", "a.example", "s@mx.spam.example", "550 5.7.0 ", ""},
		{"10.0.0.1", "a.example", "friend@spam.example", "", ""},
		{"10.0.0.1", "a.example", "s@sub.example", "", ""},
		{"10.0.0.1", "a.example", "s@x.example", "450 4.7.1 <s@x.example>: Sender address rejected: try later", ""},
		{"10.0.0.1", "a.example", "s@hold.example", "", "hold"},
		{"10.0.0.1", "a.example", "s@bcc.example", "", "bcc:archive@here.example"},
		{"10.0.0.1", "a.example", "s@prep.example", "", "prepend:X-Flag: yes"},
	} {
		r := &Request{Stage: Rcpt, Env: &envelope.Envelope{ClientIP: netip.MustParseAddr(tc.ip), ClientHost: "unknown", Helo: tc.helo},
			Sender: tc.sender, Recipient: "a@here.example", Resolution: local}
		d := ls.AtRcpt(ctx, r)
		got := d.Reply()
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %s %s: got %q, want %q", tc.ip, tc.helo, tc.sender, got, tc.want)
		}
		var eff []string
		for _, e := range d.Effects {
			s := e.Action.String()
			if e.Arg != "" && e.Action != Hold {
				s += ":" + e.Arg
			}
			eff = append(eff, s)
		}
		if strings.Join(eff, ",") != tc.effect {
			t.Errorf("%s %s %s: effects %v, want %q", tc.ip, tc.helo, tc.sender, eff, tc.effect)
		}
	}
	if _, err := Build("smtp", restrictionsConfig(map[string][]string{"client": {"check_client_access cidr:" + dir + "/missing"}}, nil), Deps{}); err == nil {
		t.Error("a missing table file was accepted")
	}
}

// A restriction supplied through Deps.Restrictions is built with its
// arguments and stands in the list like a built-in one.
func TestBuildExternalRestriction(t *testing.T) {
	var gotArgs []string
	d := Deps{Restrictions: map[string]Factory{"check_example": func(k Kind, args []string) (Check, error) {
		gotArgs = args
		return Func("", func(context.Context, *Request) Verdict {
			return Verdict{Action: Defer, Code: 450, Enhanced: "4.7.1", Text: "try later"}
		}), nil
	}}}
	cfg := restrictionsConfig(map[string][]string{"recipient": {"check_example 300 x", "permit"}}, nil)
	ls, err := Build("smtp", cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotArgs, ",") != "300,x" {
		t.Fatalf("args = %q", gotArgs)
	}
	v := ls.Recipient.Eval(context.Background(), &Request{Stage: Rcpt}, nil)
	if v.Reply() != "450 4.7.1 try later" || v.Check != "check_example" {
		t.Fatalf("verdict = %+v", v)
	}
	if _, err := Build("smtp", restrictionsConfig(map[string][]string{"recipient": {"check_example"}}, nil), Deps{}); err == nil {
		t.Fatal("an unregistered restriction built")
	}
}
