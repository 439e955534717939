package config

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"mailwarden/internal/table"
	"mailwarden/internal/transport"
)

// Load reads and validates the file at path. Errors carry file:line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data (named path in errors) over the defaults and validates it.
func Parse(path string, data []byte) (*Config, error) {
	c := Default()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, explainDecode(path, data, err)
	}
	var errs Errors
	for _, k := range md.Undecoded() {
		errs = append(errs, &Error{File: path, Line: lineOfKey(data, k), Msg: unknownKey(k.String())})
	}
	c.Path = path
	c.Restrictions.Set = map[string]bool{}
	for _, k := range []string{"client", "helo", "sender", "relay", "recipient", "data", "end_of_data"} {
		if md.IsDefined("restrictions", k) {
			c.Restrictions.Set[k] = true
		}
	}
	for _, e := range c.validate() {
		e.File = path
		if e.Line == 0 && e.key != "" {
			e.Line = lineOfKey(data, strings.Split(e.key, "."))
		}
		errs = append(errs, &e.Error)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

type keyedError struct {
	Error
	key string
}

func (c *Config) validate() []*keyedError {
	var errs []*keyedError
	bad := func(key, format string, a ...any) {
		errs = append(errs, &keyedError{Error: Error{Msg: key + ": " + fmt.Sprintf(format, a...)}, key: key})
	}
	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " \t\r\n") {
		bad("hostname", "must be a host name, got %q", c.Hostname)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	} else if !filepath.IsAbs(c.DataDir) && c.Path != "" {
		// Relative data_dir is relative to the config file.
		c.DataDir = filepath.Join(filepath.Dir(c.Path), c.DataDir)
	}
	c.Networks = c.Networks[:0]
	for _, n := range c.MyNetworks {
		p, err := parseNetwork(n)
		if err != nil {
			bad("mynetworks", "%v", err)
			continue
		}
		c.Networks = append(c.Networks, p)
	}
	c.SMTP.XclientNets, c.SMTP.XforwardNets = nil, nil
	for _, n := range c.SMTP.AuthorizedXclientHosts {
		p, err := parseNetwork(n)
		if err != nil {
			bad("smtp.authorized_xclient_hosts", "%v", err)
			continue
		}
		c.SMTP.XclientNets = append(c.SMTP.XclientNets, p)
	}
	for _, n := range c.SMTP.AuthorizedXforwardHosts {
		p, err := parseNetwork(n)
		if err != nil {
			bad("smtp.authorized_xforward_hosts", "%v", err)
			continue
		}
		c.SMTP.XforwardNets = append(c.SMTP.XforwardNets, p)
	}
	if len(c.RecipientDelimiter) > 4 || strings.ContainsAny(c.RecipientDelimiter, "@ \t<>") {
		bad("recipient_delimiter", "must be a few characters such as \"+\" or \"+-\", got %q", c.RecipientDelimiter)
	}
	for i, d := range c.RelayDomains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || strings.ContainsAny(d, "@ \t[]") || !strings.Contains(d, ".") && d != "localhost" {
			bad("relay_domains", "%q is not a domain name", c.RelayDomains[i])
		}
		c.RelayDomains[i] = d
	}
	c.Restrictions.PolicyService.check(bad)
	for name, addrs := range c.Listen.byName() {
		for _, a := range addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				bad("listen."+name, "%q is not host:port", a)
			}
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", "cert_file and key_file go together: set both or neither")
	}
	s := &c.SMTP
	for _, f := range []struct {
		key string
		v   int
	}{
		{"smtp.max_recipients", s.MaxRecipients},
		{"smtp.max_connections", s.MaxConnections},
		{"smtp.max_connections_per_ip", s.MaxConnectionsPerIP},
		{"smtp.hard_error_limit", s.HardErrorLimit},
		{"smtp.junk_command_limit", s.JunkCommandLimit},
		{"smtp.max_messages_per_session", s.MaxMessagesPerSession},
	} {
		if f.v < 1 {
			bad(f.key, "must be at least 1, got %d", f.v)
		}
	}
	if s.MaxLineLength < 1000 {
		bad("smtp.max_line_length", "must be at least 1000 (RFC 5321 4.5.3.1.6), got %d", s.MaxLineLength)
	}
	if s.MessageSizeLimit < 1024 {
		bad("smtp.message_size_limit", "must be at least 1K, got %d", s.MessageSizeLimit)
	}
	if s.Timeout.D() <= 0 || s.SessionTimeout.D() <= 0 {
		bad("smtp.timeout", "timeouts must be positive")
	}
	if strings.ContainsAny(s.Banner, "\r\n") {
		bad("smtp.banner", "must be one line")
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"auth.max_failures", c.Auth.MaxFailures},
		{"imap.max_connections", c.IMAP.MaxConnections},
		{"imap.max_connections_per_ip", c.IMAP.MaxConnectionsPerIP},
		{"pop3.max_connections", c.POP3.MaxConnections},
		{"pop3.max_connections_per_ip", c.POP3.MaxConnectionsPerIP},
		{"smtp.max_connections_per_network", c.SMTP.MaxConnectionsPerNetwork},
		{"imap.max_connections_per_network", c.IMAP.MaxConnectionsPerNetwork},
		{"pop3.max_connections_per_network", c.POP3.MaxConnectionsPerNetwork},
	} {
		if f.v < 1 {
			bad(f.key, "must be at least 1, got %d", f.v)
		}
	}
	for _, f := range []struct {
		key           string
		reserved, max int
	}{
		{"smtp.reserved_connections", c.SMTP.ReservedConnections, c.SMTP.MaxConnections},
		{"imap.reserved_connections", c.IMAP.ReservedConnections, c.IMAP.MaxConnections},
		{"pop3.reserved_connections", c.POP3.ReservedConnections, c.POP3.MaxConnections},
	} {
		if f.reserved < 0 || f.reserved >= f.max && f.max > 0 {
			bad(f.key, "must be at least 0 and less than max_connections (%d), got %d", f.max, f.reserved)
		}
	}
	if c.Auth.FailureDelay.D() < 0 || c.Auth.FailureWindow.D() <= 0 {
		bad("auth.failure_window", "failure_delay must not be negative and failure_window must be positive")
	}
	for _, m := range c.Auth.Mechanisms {
		switch m {
		case "PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5":
		default:
			bad("auth.mechanisms", "%q is not one of PLAIN, LOGIN, SCRAM-SHA-256, CRAM-MD5", m)
		}
	}
	if c.Auth.SCRAMIterations < 4096 || c.Auth.SCRAMIterations > 1_000_000 {
		bad("auth.scram_iterations", "must be between 4096 (RFC 7677) and 1000000, got %d", c.Auth.SCRAMIterations)
	}
	if c.IMAP.IdleTimeout.D() < time.Minute || c.POP3.Timeout.D() < 10*time.Second {
		bad("imap.idle_timeout", "imap.idle_timeout must be at least 1m and pop3.timeout at least 10s")
	}
	if c.IMAP.MetadataMaxValueSize < 1 || int64(c.IMAP.MetadataMaxValueSize) > int64(c.IMAP.MaxLineLength) {
		bad("imap.metadata_max_value_size", "must be between 1 and imap.max_line_length (%d), got %d", c.IMAP.MaxLineLength, c.IMAP.MetadataMaxValueSize)
	}
	if c.IMAP.MetadataMaxEntries < 1 {
		bad("imap.metadata_max_entries", "must be at least 1, got %d", c.IMAP.MetadataMaxEntries)
	}
	if c.IMAP.MaxLineLength < 1000 {
		bad("imap.max_line_length", "must be at least 1000, got %d", c.IMAP.MaxLineLength)
	}
	for _, r := range c.DNS.Resolvers {
		if _, _, err := net.SplitHostPort(r); err != nil {
			bad("dns.resolvers", "%q is not host:port", r)
		}
	}
	if c.DNS.Timeout.D() <= 0 {
		bad("dns.timeout", "must be positive")
	}
	if c.Outbound.SMTPPort < 1 || c.Outbound.SMTPPort > 65535 {
		bad("outbound.smtp_port", "must be a port number, got %d", c.Outbound.SMTPPort)
	}
	if c.Outbound.ConnectTimeout.D() <= 0 || c.Outbound.CommandTimeout.D() <= 0 {
		bad("outbound.connect_timeout", "timeouts must be positive")
	}
	if c.Outbound.ConnectionCacheTimeLimit.D() < 0 || c.Outbound.ConnectionReuseTimeLimit.D() <= 0 {
		bad("outbound.connection_cache_time_limit", "connection_cache_time_limit must not be negative and connection_reuse_time_limit must be positive")
	}
	switch c.Outbound.TLS {
	case "none", "may", "encrypt", "verify":
	default:
		bad("outbound.tls", "must be none, may, encrypt or verify, got %q", c.Outbound.TLS)
	}
	c.validateRouting(bad)
	c.validateGreylist(bad)
	c.validateSPF(bad)
	c.validateDKIM(bad)
	c.validateDNSKnobs(bad)
	c.validateLimits(bad)
	c.validatePostscreen(bad)
	c.validateAutoblock(bad)
	c.validateDMARC(bad)
	c.validateOps(bad)
	c.validateLocal(bad)
	c.validateARC(bad)
	c.validateDomainKeys(bad)
	qc := &c.Queue
	if qc.MinimalBackoffTime.D() <= 0 || qc.MaximalBackoffTime.D() < qc.MinimalBackoffTime.D() {
		bad("queue.maximal_backoff_time", "backoff times must be positive and maximal >= minimal")
	}
	if qc.MaximalQueueLifetime.D() <= 0 || qc.BounceQueueLifetime.D() <= 0 || qc.DelayWarningTime.D() < 0 {
		bad("queue.maximal_queue_lifetime", "lifetimes must be positive and delay_warning_time not negative")
	}
	if a := qc.DoubleBounceRecipient; a == "" || strings.ContainsAny(a, " \t\r\n<>,") {
		bad("queue.2bounce_notice_recipient", "must be an address or a local part such as \"postmaster\", got %q", a)
	}
	if qc.DestinationConcurrencyLimit < 1 || qc.ConcurrencyLimit < 1 {
		bad("queue.concurrency_limit", "concurrency limits must be at least 1")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if n := c.Log.SyslogName; n == "" || strings.ContainsAny(n, " \t\r\n[]:") {
		bad("log.syslog_name", "must be a name without spaces, brackets or colons, got %q", n)
	}
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("metrics.listen", "must be host:port, got %q", l)
		}
	}
	return errs
}

// validateRouting checks relayhost and reads the transport and password
// files (relative paths are relative to the config file), so that their
// errors show at load.
func (c *Config) validateRouting(bad func(key, format string, a ...any)) {
	o := &c.Outbound
	if o.Relayhost != "" {
		if _, err := transport.ParseHop(o.Relayhost); err != nil {
			bad("outbound.relayhost", "%v", err)
		}
	}
	for _, f := range []struct {
		key  string
		path *string
		load func(string) error
	}{
		// A plain path is checked line by line; a "type:name" table is
		// opened as the queue will (its results are checked per lookup).
		{"outbound.transport_file", &o.TransportFile, func(p string) error {
			if _, _, typed := transport.Typed(p); !typed {
				_, err := transport.Load(p)
				return err
			}
			m, err := transport.OpenMap(p, table.Options{ReloadInterval: -1})
			if err == nil {
				m.Close()
			}
			return err
		}},
		{"outbound.relayhost_password_file", &o.RelayhostPasswordFile, func(p string) error {
			if _, _, typed := transport.Typed(p); !typed {
				_, err := transport.LoadPasswords(p)
				return err
			}
			m, err := transport.OpenPasswords(p, table.Options{ReloadInterval: -1})
			if err == nil {
				m.Close()
			}
			return err
		}},
	} {
		if *f.path == "" {
			continue
		}
		typ, name, typed := transport.Typed(*f.path)
		switch {
		case !typed && !filepath.IsAbs(*f.path) && c.Path != "":
			*f.path = filepath.Join(filepath.Dir(c.Path), *f.path)
		case typed && transport.FileBased(typ) && !strings.Contains(name, ":") && !filepath.IsAbs(name) && c.Path != "":
			*f.path = typ + ":" + filepath.Join(filepath.Dir(c.Path), name)
		}
		if err := f.load(*f.path); err != nil {
			bad(f.key, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
}

func (l *Listen) byName() map[string][]string {
	return map[string][]string{
		"smtp": l.SMTP, "submission": l.Submission, "submissions": l.Submissions,
		"imap": l.IMAP, "imaps": l.IMAPS, "pop3": l.POP3, "pop3s": l.POP3S,
	}
}

// parseNetwork reads a CIDR or a single address ("[::1]/128" is accepted too,
// as Postfix writes it).
func parseNetwork(s string) (netip.Prefix, error) {
	t := strings.NewReplacer("[", "", "]", "").Replace(strings.TrimSpace(s))
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(t)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network or address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// lineOfKey finds the line where key (table path + name) is set, 0 if not found.
func lineOfKey(data []byte, key []string) int {
	if len(key) == 0 {
		return 0
	}
	table, name := strings.Join(key[:len(key)-1], "."), key[len(key)-1]
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] \t")
			if i := strings.Index(h, "#"); i >= 0 {
				h = strings.Trim(h[:i], "[] \t")
			}
			cur = h
			if cur == strings.Join(key, ".") {
				return n
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		full := k
		if cur != "" {
			full = cur + "." + k
		}
		if (cur == table && k == name) || full == strings.Join(key, ".") {
			return n
		}
	}
	return 0
}

// lineOfError guesses the line of a decode error that quotes a key name.
func lineOfError(data []byte, msg string) int {
	// BurntSushi/toml type errors look like: toml: line 7 (last key "smtp.timeout"): ...
	var line int
	if _, err := fmt.Sscanf(msg, "toml: line %d", &line); err == nil {
		return line
	}
	if i := strings.Index(msg, `key "`); i >= 0 {
		rest := msg[i+5:]
		if j := strings.Index(rest, `"`); j >= 0 {
			return lineOfKey(data, strings.Split(rest[:j], "."))
		}
	}
	return 0
}
