package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassicMainCfLikePostfix: the restriction lists of issue 9's
// realistic main.cf — a client cidr table, HELO syntax and a HELO access
// table, sender checks with a hash table and reject_unknown_sender_domain,
// relay control, reject_rbl_client, a restriction class chosen by
// recipient, taRgrey's permit_client_nots25r regexp table and a policy
// service (each side asks its own `mailwarden policyd` with a fresh
// greylist) — in a real Postfix and in Mailwarden, both resolving through
// one hermetic zone. swaks from loopback clients with good, dynamic-looking
// (S25R) and missing PTR names gets the same replies, code and text.
func TestClassicMainCfLikePostfix(t *testing.T) {
	// 127.0.0.1 is localhost for Postfix through /etc/hosts; the zone
	// says the same for Mailwarden.
	dns := hermeticDNS(t, `
1.0.0.127.in-addr.arpa. PTR localhost.
localhost. A 127.0.0.1
2.0.0.127.in-addr.arpa. PTR mail.good.example.
mail.good.example. A 127.0.0.2
3.0.0.127.in-addr.arpa. PTR mx.listed.example.
mx.listed.example. A 127.0.0.3
3.0.0.127.zen.example. A 127.0.0.2
3.0.0.127.zen.example. TXT "listed, see http://zen.example/127.0.0.3"
4.0.0.127.in-addr.arpa. PTR 123-45-67-8.dyn.isp.example.
123-45-67-8.dyn.isp.example. A 127.0.0.4
6.0.0.127.in-addr.arpa. PTR six.good.example.
six.good.example. A 127.0.0.6
good.example. MX 10 mail.good.example.
`)
	tables := tableDir(t, map[string]string{
		"clients.cidr":          "127.0.0.6/32 REJECT\n192.0.2.0/24 REJECT\n",
		"helo_access":           "bad.helo.example REJECT go away\n",
		"senders":               "spammer@good.example REJECT\n",
		"rcpt_classes":          "vip@relay.test strict\n",
		"permit_client_nots25r": s25rTable,
	})
	postmap(t, filepath.Join(tables, "helo_access"))
	postmap(t, filepath.Join(tables, "senders"))
	postmap(t, filepath.Join(tables, "rcpt_classes"))
	lists := func(policyPort int) [][2]string {
		return [][2]string{
			{"client", "permit_mynetworks, check_client_access cidr:" + tables + "/clients.cidr, permit"},
			{"helo", "permit_sasl_authenticated, permit_mynetworks, reject_invalid_helo_hostname, check_helo_access hash:" + tables + "/helo_access, permit"},
			{"sender", "reject_non_fqdn_sender, reject_unknown_sender_domain, check_sender_access hash:" + tables + "/senders"},
			{"relay", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"},
			{"recipient", "reject_unauth_destination, reject_rbl_client zen.example, check_recipient_access hash:" + tables + "/rcpt_classes, " +
				"check_client_access regexp:" + tables + "/permit_client_nots25r, " + fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", policyPort) + ", permit"},
			{"data", "reject_unauth_pipelining, permit"},
		}
	}
	strict := "check_client_access regexp:" + tables + "/permit_client_nots25r, reject"
	greylist := []string{"", "[greylist]", `delay = "1h"`}

	pfPolicy := startPolicyd(t, newServer(t, options{Extra: greylist}))
	var mainCf strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\nsmtpd_helo_required = yes\nsmtpd_delay_reject = yes\n")
	mainCf.WriteString("smtpd_restriction_classes = strict\nstrict = " + strict + "\n")
	for _, l := range lists(pfPolicy.Port) {
		mainCf.WriteString("smtpd_" + l[0] + "_restrictions = " + l[1] + "\n")
	}
	pf := startPostfixWithDNS(t, mainCf.String(), dns.Addr(), "ann", "vip")

	mwPolicy := startPolicyd(t, newServer(t, options{Extra: greylist}))
	toml := []string{"", "[restrictions]", "helo_required = true", "delay_reject = true"}
	quote := func(list string) string { return `["` + strings.Join(strings.Split(list, ", "), `", "`) + `"]` }
	for _, l := range lists(mwPolicy.Port) {
		toml = append(toml, l[0]+" = "+quote(l[1]))
	}
	toml = append(toml, "[restrictions.restriction_classes]", "strict = "+quote(strict))
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: toml}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
		s.addUser("vip@relay.test")
	})

	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	compareRCPT(t, pfAddr, s.Addr(), []rcptCase{
		{"good client passes the S25R table", "127.0.0.2", "mail.good.example", "s@good.example", "ann@relay.test", "250 2.1.5"},
		{"DNSBL", "127.0.0.3", "mx.listed.example", "s@good.example", "ann@relay.test", "blocked using zen.example; listed"},
		{"S25R client greylisted by the policy service", "127.0.0.4", "dyn.example", "s@good.example", "ann@relay.test", "Greylisted"},
		{"client without PTR greylisted", "127.0.0.5", "nameless.example", "s@good.example", "ann@relay.test", "Greylisted"},
		{"cidr client table", "127.0.0.6", "six.good.example", "s@good.example", "ann@relay.test", "Client host rejected"},
		{"HELO access table", "127.0.0.2", "bad.helo.example", "s@good.example", "ann@relay.test", "go away"},
		{"invalid HELO", "127.0.0.2", "bad..helo", "s@good.example", "ann@relay.test", "Invalid name"},
		{"sender access table", "127.0.0.2", "mail.good.example", "spammer@good.example", "ann@relay.test", "Sender address rejected"},
		{"unknown sender domain", "127.0.0.2", "mail.good.example", "s@nowhere.example", "ann@relay.test", "Domain not found"},
		{"non-FQDN sender", "127.0.0.2", "mail.good.example", "s@localhost", "ann@relay.test", "need fully-qualified"},
		{"relay denied", "127.0.0.2", "mail.good.example", "s@good.example", "x@far.example", "Relay access denied"},
		{"class permits a good client", "127.0.0.2", "mail.good.example", "s@good.example", "vip@relay.test", "250 2.1.5"},
		{"class rejects an S25R client", "127.0.0.4", "dyn.example", "s@good.example", "vip@relay.test", "Access denied"},
		{"mynetworks meet reject_unauth_destination in the recipient list", "127.0.0.1", "localhost", "s@good.example", "x@far.example", "Relay access denied"},
		{"mynetworks to a local address", "127.0.0.1", "localhost", "s@good.example", "ann@relay.test", "250 2.1.5"},
	})
}

// s25rTable is taRgrey's permit_client_nots25r: clients whose names look
// like end-user lines (the published S25R patterns) or have none go on to
// the policy service; every other client is permitted.
const s25rTable = `/^unknown$/                                   DUNNO
/^[^.]*[0-9][^0-9.]+[0-9].*\./                DUNNO
/^[^.]*[0-9]{5}/                              DUNNO
/^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]/     DUNNO
/^[^.]*[0-9]\.[^.]*[0-9]-[0-9]/               DUNNO
/^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\./        DUNNO
/^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]/  DUNNO
/./                                           OK
`
