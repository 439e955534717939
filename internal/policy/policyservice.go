package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/policyproto"
)

// check_policy_service asks a policy server (postgrey, policyd-spf,
// taRgrey...) over Postfix's SMTPD policy delegation protocol and takes
// its reply as an access(5) action, as Postfix's smtpd does
// (SMTPD_POLICY_README).
func init() { factories["check_policy_service"] = newPolicyService }

// PolicyServiceSettings are one service's Postfix smtpd_policy_service_*
// settings.
type PolicyServiceSettings struct {
	Timeout, MaxIdle, MaxTTL, RetryDelay time.Duration
	RequestLimit, TryLimit               int
	DefaultAction, PolicyContext         string
	MaxConnections                       int
}

// SettingsOf are the [restrictions] policy_service_* settings.
func SettingsOf(p config.PolicyService) PolicyServiceSettings {
	return PolicyServiceSettings{
		Timeout: p.PolicyServiceTimeout.D(), MaxIdle: p.PolicyServiceMaxIdle.D(), MaxTTL: p.PolicyServiceMaxTTL.D(),
		RetryDelay: p.PolicyServiceRetryDelay.D(), RequestLimit: p.PolicyServiceRequestLimit, TryLimit: p.PolicyServiceTryLimit,
		DefaultAction: p.PolicyServiceDefaultAction, PolicyContext: p.PolicyServicePolicyContext,
		MaxConnections: p.PolicyServiceMaxConnections,
	}
}

func newPolicyService(b *builder, k Kind, args []string) (Check, error) {
	set := SettingsOf(b.cfg.Restrictions.PolicyService)
	endpoint, err := parsePolicyServiceArgs(args, &set)
	if err != nil {
		return nil, err
	}
	network, addr, err := policyEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	c := sharedPolicyClient(network, addr, endpoint, set)
	return &policyServiceCheck{c: c, k: k, restriction: b.restrictionByName(k), d: b.d}, nil
}

// parsePolicyServiceArgs reads "inet:host:port" or Postfix 3.0's
// "{ inet:host:port, timeout=10s, default_action=DUNNO, ... }": items
// separated by commas or blanks, "name = value" with or without blanks
// around "=", a value with blanks or commas inside braces
// ("default_action = { 451 4.3.5 Try later }").
func parsePolicyServiceArgs(args []string, set *PolicyServiceSettings) (string, error) {
	const use = "check_policy_service wants inet:host:port, unix:/path, or { inet:host:port, name=value, ... }"
	s := strings.TrimSpace(strings.Join(args, " "))
	if s == "" {
		return "", errors.New(use)
	}
	if !strings.HasPrefix(s, "{") {
		if len(args) != 1 {
			return "", errors.New(use)
		}
		return s, nil
	}
	if !strings.HasSuffix(s, "}") {
		return "", errors.New("check_policy_service: { without its }")
	}
	items, err := braceItems(s[1 : len(s)-1])
	if err != nil {
		return "", fmt.Errorf("check_policy_service: %w", err)
	}
	if len(items) == 0 || strings.Contains(items[0], "=") {
		return "", errors.New(use)
	}
	for _, it := range items[1:] {
		name, value, ok := strings.Cut(it, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return "", fmt.Errorf("check_policy_service: %q is not name=value", it)
		}
		if strings.HasPrefix(value, "{") && strings.HasSuffix(value, "}") {
			value = strings.TrimSpace(value[1 : len(value)-1])
		}
		dur := func(d *time.Duration) error {
			v, err := parsePostfixTime(value)
			if err != nil {
				return fmt.Errorf("check_policy_service: %s: %w", name, err)
			}
			*d = v
			return nil
		}
		count := func(n *int, lo int) error {
			v, err := strconv.Atoi(value)
			if err != nil || v < lo || v > 1000000 {
				return fmt.Errorf("check_policy_service: %s=%q: want a number from %d", name, value, lo)
			}
			*n = v
			return nil
		}
		switch name {
		case "timeout":
			err = dur(&set.Timeout)
		case "max_idle":
			err = dur(&set.MaxIdle)
		case "max_ttl":
			err = dur(&set.MaxTTL)
		case "retry_delay":
			err = dur(&set.RetryDelay)
		case "request_limit":
			err = count(&set.RequestLimit, 0)
		case "try_limit":
			err = count(&set.TryLimit, 1)
		case "max_connections":
			err = count(&set.MaxConnections, 1)
		case "default_action":
			if value == "" {
				err = errors.New("check_policy_service: empty default_action")
			}
			set.DefaultAction = value
		case "policy_context":
			set.PolicyContext = value
		default:
			err = fmt.Errorf("check_policy_service: unknown setting %q (timeout, max_idle, max_ttl, request_limit, try_limit, retry_delay, default_action, policy_context)", name)
		}
		if err != nil {
			return "", err
		}
	}
	return items[0], nil
}

// braceItems splits Postfix's "a, b = c, d={x y}" into "a", "b=c", "d={x y}".
func braceItems(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ',' || c == ' ' || c == '\t':
			i++
		case c == '{':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '{' {
					depth++
				} else if s[j] == '}' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if j == len(s) {
				return nil, errors.New("{ without its }")
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(", \t{", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	// Glue "name", "=", "value" and "name=", "value" and "name", "=value".
	var items []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for i+1 < len(toks) && (strings.HasSuffix(t, "=") || strings.HasPrefix(toks[i+1], "=")) && !strings.HasPrefix(t, "{") {
			t += toks[i+1]
			i++
		}
		items = append(items, t)
	}
	return items, nil
}

// parsePostfixTime reads a Postfix time value: a number with an optional
// unit s, m, h, d or w (seconds by default), or a Go duration.
func parsePostfixTime(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("empty time")
	}
	unit := time.Second
	num := v
	switch v[len(v)-1] {
	case 's':
		num = v[:len(v)-1]
	case 'm':
		unit, num = time.Minute, v[:len(v)-1]
	case 'h':
		unit, num = time.Hour, v[:len(v)-1]
	case 'd':
		unit, num = 24*time.Hour, v[:len(v)-1]
	case 'w':
		unit, num = 7*24*time.Hour, v[:len(v)-1]
	}
	if n, err := strconv.Atoi(num); err == nil && n > 0 && n < 1e7 {
		return time.Duration(n) * unit, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a positive time (10s, 5m, 1h, 500ms)", v)
}

// policyEndpoint splits "inet:host:port" and "unix:/path".
func policyEndpoint(e string) (network, addr string, err error) {
	typ, rest, ok := strings.Cut(e, ":")
	switch {
	case ok && typ == "inet" && rest != "":
		if _, _, err := splitHostPort(rest); err != nil {
			return "", "", fmt.Errorf("check_policy_service %s: %w", e, err)
		}
		return "tcp", rest, nil
	case ok && typ == "unix" && rest != "":
		return "unix", rest, nil
	}
	return "", "", fmt.Errorf("check_policy_service %q: want inet:host:port or unix:/path", e)
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	host, port := strings.Trim(s[:i], "[]"), s[i+1:]
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	return host, port, nil
}

// policyServiceCheck is one check_policy_service entry.
type policyServiceCheck struct {
	c           *PolicyClient
	k           Kind
	restriction func(string) (Check, bool)
	d           Deps
}

func (p *policyServiceCheck) Name() string { return "check_policy_service" }

func (p *policyServiceCheck) Check(ctx context.Context, r *Request) Verdict {
	what, thing := p.k.subject(r)
	action, err := p.c.Query(ctx, RequestAttrs(r, p.c.set.PolicyContext))
	if err != nil {
		// Postfix: "warning: problem talking to server inet:...: ..."
		p.d.warn("problem talking to server " + p.c.name + ": " + err.Error())
		action = p.c.set.DefaultAction
	}
	return accessAction(ctx, r, action, what, thing, p.restriction)
}

// policyStates are Postfix's protocol_state names by stage.
var policyStates = [...]string{"CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE"}

// RequestAttrs are the attributes Postfix 3.x sends for r
// (SMTPD_POLICY_README); those Mailwarden cannot know (client
// certificates, ETRN, stress) are sent empty, as Postfix sends them when
// they do not apply. policyContext is the policy_context setting.
func RequestAttrs(r *Request, policyContext string) policyproto.Attrs {
	state := "UNKNOWN"
	if int(r.Stage) < len(policyStates) {
		state = policyStates[r.Stage]
	}
	var (
		helo, queueID, clientAddr, proto                string
		clientName, revName                             = "unknown", "unknown"
		saslMethod, saslUser, saslSender, tlsProto, tls string
		clientPort                                      = "0"
		rcptCount                                       int
	)
	recipient := r.Recipient
	if e := r.Env; e != nil {
		if r.Stage == Helo && e.Protocol == "SMTP" {
			state = "HELO"
		}
		helo, queueID, proto = e.Helo, e.ID, e.Protocol
		if e.ClientIP.IsValid() {
			clientAddr = e.ClientIP.Unmap().String()
		}
		if e.ClientHost != "" {
			clientName = e.ClientHost
		}
		if e.Client.ReverseHost != "" {
			revName = e.Client.ReverseHost
		}
		saslUser, saslMethod, saslSender = e.AuthUser, e.Client.AuthMech, e.AuthParam
		tlsProto, tls = e.Client.TLSVersion, e.Client.TLSCipher
		if e.Client.Port > 0 {
			clientPort = strconv.Itoa(e.Client.Port)
		}
		if r.Stage == Data || r.Stage == EndOfData {
			// recipient_count counts accepted recipients at DATA and
			// END-OF-MESSAGE only; recipient is then the one recipient of
			// a single-recipient message.
			rcptCount = len(e.Recipients)
			if rcptCount == 1 && recipient == "" {
				recipient = e.Recipients[0].Address
			}
		}
	}
	if proto == "" {
		proto = "SMTP"
	}
	size := r.Size
	if size < 0 {
		size = 0
	}
	serverAddr, serverPort := "", ""
	if r.Server.IsValid() {
		serverAddr, serverPort = r.Server.Addr().Unmap().String(), strconv.Itoa(int(r.Server.Port()))
	}
	keysize := ""
	if tls != "" {
		keysize = strconv.Itoa(cipherKeyBits(tls))
	}
	c := policyproto.Clean
	return policyproto.Attrs{
		{Name: "request", Value: policyproto.RequestType},
		{Name: "protocol_state", Value: state},
		{Name: "protocol_name", Value: proto},
		{Name: "helo_name", Value: c(helo)},
		{Name: "queue_id", Value: queueID},
		{Name: "sender", Value: c(r.Sender)},
		{Name: "recipient", Value: c(recipient)},
		{Name: "recipient_count", Value: strconv.Itoa(rcptCount)},
		{Name: "client_address", Value: clientAddr},
		{Name: "client_name", Value: c(clientName)},
		{Name: "reverse_client_name", Value: c(revName)},
		{Name: "instance", Value: r.Instance},
		{Name: "sasl_method", Value: c(saslMethod)},
		{Name: "sasl_username", Value: c(saslUser)},
		{Name: "sasl_sender", Value: c(saslSender)},
		{Name: "size", Value: strconv.FormatInt(size, 10)},
		{Name: "ccert_subject"},
		{Name: "ccert_issuer"},
		{Name: "ccert_fingerprint"},
		{Name: "encryption_protocol", Value: tlsProto},
		{Name: "encryption_cipher", Value: tls},
		{Name: "encryption_keysize", Value: keysize},
		{Name: "etrn_domain"},
		{Name: "stress"},
		{Name: "ccert_pubkey_fingerprint"},
		{Name: "client_port", Value: clientPort},
		{Name: "policy_context", Value: c(policyContext)},
		{Name: "server_address", Value: serverAddr},
		{Name: "server_port", Value: serverPort},
		// The attribute set and defaults Mailwarden follows are Postfix
		// 3.8's at compatibility level 3.6.
		{Name: "compatibility_level", Value: "3.6"},
		{Name: "mail_version", Value: "3.8.0"},
	}
}

// cipherKeyBits is the symmetric key size of a TLS cipher suite named as
// Go and OpenSSL (TLS 1.3) name it.
func cipherKeyBits(name string) int {
	switch {
	case strings.Contains(name, "AES_128"), strings.Contains(name, "AES128"):
		return 128
	case strings.Contains(name, "3DES"):
		return 168
	}
	return 256 // AES_256, CHACHA20_POLY1305
}

// StripSubject removes from a verdict's text the "<what>: Thing rejected: "
// that a restriction list words its replies with, leaving what a policy
// server answers: the policy client (Postfix's smtpd) adds its own.
func StripSubject(r *Request, text string) string {
	if !strings.HasPrefix(text, "<") {
		return text
	}
	for k := KindClient; k <= KindEndOfData; k++ {
		what, thing := k.subject(r)
		if t, ok := strings.CutPrefix(text, "<"+what+">: "+thing+": "); ok {
			return t
		}
	}
	return text
}
