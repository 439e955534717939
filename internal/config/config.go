package config

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// DefaultPath is used when neither -config nor $MAILWARDEN_CONFIG is given.
const DefaultPath = "/etc/mailwarden/mailwarden.toml"

// Config is the whole of mailwarden.toml.
type Config struct {
	Hostname           string   `toml:"hostname"`
	DataDir            string   `toml:"data_dir"`
	MyNetworks         []string `toml:"mynetworks"`
	RecipientDelimiter string   `toml:"recipient_delimiter"`
	// RelayDomains are domains accepted for any local part and relayed
	// on (Postfix relay_domains): by transport_file when it matches, else
	// to the domain's MX hosts more preferred than this one. Domains in
	// the directory with --backup-mx are treated the same way.
	RelayDomains []string `toml:"relay_domains"`
	// User is the account serve runs as after binding its ports when
	// started as root (Postfix's mail_owner); empty: it keeps its own.
	User string `toml:"user"`

	Listen     Listen     `toml:"listen"`
	TLS        TLS        `toml:"tls"`
	SMTP       SMTP       `toml:"smtp"`
	Submission Submission `toml:"submission"`
	Delivery   Delivery   `toml:"delivery"`
	Auth       Auth       `toml:"auth"`
	IMAP       IMAP       `toml:"imap"`
	POP3       POP3       `toml:"pop3"`
	DNS        DNS        `toml:"dns"`
	Outbound   Outbound   `toml:"outbound"`
	Queue      Queue      `toml:"queue"`
	Log        Log        `toml:"log"`
	Metrics    Metrics    `toml:"metrics"`
	Local      Local      `toml:"local"`
	// Restrictions are Postfix's smtpd_*_restrictions for port 25.
	Restrictions Restrictions `toml:"restrictions"`
	// Greylist is postgrey's greylisting and taRgrey's tarpit (check_greylist).
	Greylist Greylist `toml:"greylist"`
	// SPF is SPF checking on the MX service (policyd-spf's knobs; check_spf).
	SPF SPF `toml:"spf"`
	// Postscreen is postscreen(8)'s weighted DNSBL test at connect.
	Postscreen Postscreen `toml:"postscreen"`
	Autoblock  Autoblock  `toml:"autoblock"`
	// ARC is the Authenticated Received Chain: verify and seal (arc.go).
	ARC ARC `toml:"arc"`
	// DomainKeys is the historic DomainKey-Signature (domainkeys.go).
	DomainKeys DomainKeys `toml:"domainkeys"`
	// DMARC is inbound DMARC evaluation and aggregate reports (dmarc.go).
	DMARC DMARC `toml:"dmarc"`
	// DKIM is OpenDKIM's signing and verifying.
	DKIM DKIM `toml:"dkim"`

	// Path is the file this config was read from ("" for built-in defaults).
	Path string `toml:"-"`
	// Networks is MyNetworks parsed.
	Networks []netip.Prefix `toml:"-"`
}

// Listen holds the addresses of each service; a service with none is off.
type Listen struct {
	SMTP        []string `toml:"smtp"`
	Submission  []string `toml:"submission"`
	Submissions []string `toml:"submissions"`
	IMAP        []string `toml:"imap"`
	IMAPS       []string `toml:"imaps"`
	POP3        []string `toml:"pop3"`
	POP3S       []string `toml:"pop3s"`
}

// TLS names the certificate; when both are empty a self-signed one is made
// in data_dir on first start.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// SMTP holds the limits and knobs of the SMTP listeners (Postfix smtpd_*).
type SMTP struct {
	Banner              string `toml:"banner"`
	MessageSizeLimit    Size   `toml:"message_size_limit"`
	MaxRecipients       int    `toml:"max_recipients"`
	MaxConnections      int    `toml:"max_connections"`
	MaxConnectionsPerIP int    `toml:"max_connections_per_ip"`
	// MaxConnectionsPerNetwork bounds the connections from one IPv4 /24
	// or IPv6 /64 outside mynetworks; ReservedConnections of
	// MaxConnections are for clients in mynetworks only.
	MaxConnectionsPerNetwork int      `toml:"max_connections_per_network"`
	ReservedConnections      int      `toml:"reserved_connections"`
	MaxLineLength            int      `toml:"max_line_length"`
	HardErrorLimit           int      `toml:"hard_error_limit"`
	JunkCommandLimit         int      `toml:"junk_command_limit"`
	MaxMessagesPerSession    int      `toml:"max_messages_per_session"`
	Timeout                  Duration `toml:"timeout"`
	SessionTimeout           Duration `toml:"session_timeout"`
	DisableVRFYCommand       bool     `toml:"disable_vrfy_command"`
	// PermitMyNetworks lets clients in mynetworks relay through port 25
	// (permit_mynetworks in Postfix smtpd_relay_restrictions).
	PermitMyNetworks bool `toml:"permit_mynetworks"`
	// PeernameLookup is smtpd_peername_lookup: look up the client's
	// reverse DNS name at connect (false: every client is "unknown").
	PeernameLookup bool `toml:"peername_lookup"`
	// MinDataRate is the slowest a DATA body or BDAT chunk may arrive,
	// in bytes per second, after one timeout's grace (0: no minimum).
	MinDataRate Size `toml:"min_data_rate"`
	// QueueMinfree is Postfix's queue_minfree: the free space the spool
	// needs before MAIL is accepted (0: 1.5 × message_size_limit).
	QueueMinfree Size `toml:"queue_minfree"`
	// AuthorizedXclientHosts and AuthorizedXforwardHosts are Postfix's
	// smtpd_authorized_xclient_hosts and smtpd_authorized_xforward_hosts:
	// networks (CIDR or address) that may send XCLIENT and XFORWARD.
	AuthorizedXclientHosts  []string `toml:"authorized_xclient_hosts"`
	AuthorizedXforwardHosts []string `toml:"authorized_xforward_hosts"`

	// parsed forms of the host lists
	XclientNets  []netip.Prefix `toml:"-"`
	XforwardNets []netip.Prefix `toml:"-"`

	SMTPLimits // rate limits and error handling (limits.go)
}

// Submission holds the rules of ports 587 and 465 (Postfix master.cf
// submission overrides).
type Submission struct {
	// PermitMyNetworks lets clients in mynetworks submit without AUTH.
	PermitMyNetworks bool `toml:"permit_mynetworks"`
	// RejectSenderLoginMismatch refuses a MAIL FROM the authenticated user
	// does not own (as mailbox or alias target).
	RejectSenderLoginMismatch bool `toml:"reject_sender_login_mismatch"`
}

// Delivery holds local delivery settings.
type Delivery struct {
	// OverQuotaTempfail answers 452 4.2.2 instead of 552 5.2.2 when a
	// mailbox is full.
	OverQuotaTempfail bool `toml:"over_quota_tempfail"`
	// DefaultQuota applies to new mailboxes created without --quota (0: none).
	DefaultQuota Size `toml:"default_quota"`
	// Fsync may be turned off only for throwaway test setups.
	Fsync bool `toml:"fsync"`
}

// Auth governs logins to IMAP, POP3 and (later) submission.
type Auth struct {
	// FailureDelay is how long a failed login waits before its reply
	// (Dovecot auth_failure_delay).
	FailureDelay Duration `toml:"failure_delay"`
	// MaxFailures failed logins from one client IP within FailureWindow
	// make further logins from it fail temporarily until the window passes.
	MaxFailures   int      `toml:"max_failures"`
	FailureWindow Duration `toml:"failure_window"`
	// AllowPlaintextLoopback permits LOGIN/PLAIN without TLS from loopback
	// clients (Dovecot disable_plaintext_auth = no, for local webmail).
	AllowPlaintextLoopback bool `toml:"allow_plaintext_loopback"`
	// Mechanisms are the SASL mechanisms offered (Dovecot auth_mechanisms):
	// PLAIN, LOGIN, SCRAM-SHA-256, CRAM-MD5. All are offered only under TLS.
	Mechanisms []string `toml:"mechanisms"`
	// SCRAMIterations is the PBKDF2 iteration count of newly stored
	// SCRAM-SHA-256 keys (RFC 7677: at least 4096).
	SCRAMIterations int `toml:"scram_iterations"`
}

// IMAP holds the IMAP server's limits.
type IMAP struct {
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	// As in SMTP.
	MaxConnectionsPerNetwork int      `toml:"max_connections_per_network"`
	ReservedConnections      int      `toml:"reserved_connections"`
	IdleTimeout              Duration `toml:"idle_timeout"`
	// AppendLimit is the largest APPEND accepted (0: smtp.message_size_limit).
	AppendLimit Size `toml:"append_limit"`
	// MaxLineLength bounds a command line, literals excluded.
	MaxLineLength int `toml:"max_line_length"`
	// METADATA (RFC 5464): the largest value of one entry, the entries
	// one user may have in all, and the server's /shared/admin (a URI;
	// empty: mailto:postmaster@hostname).
	MetadataMaxValueSize Size   `toml:"metadata_max_value_size"`
	MetadataMaxEntries   int    `toml:"metadata_max_entries"`
	MetadataAdmin        string `toml:"metadata_admin"`
}

// POP3 holds the POP3 server's limits.
type POP3 struct {
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	// As in SMTP.
	MaxConnectionsPerNetwork int      `toml:"max_connections_per_network"`
	ReservedConnections      int      `toml:"reserved_connections"`
	Timeout                  Duration `toml:"timeout"`
}

// DNS selects the resolvers Mailwarden queries.
type DNS struct {
	// Resolvers are host:port addresses; empty means the system's
	// (/etc/resolv.conf).
	Resolvers []string `toml:"resolvers"`
	Timeout   Duration `toml:"timeout"`
}

// Outbound holds the SMTP client's settings (Postfix smtp_*).
type Outbound struct {
	// SMTPPort is the port remote MX hosts are contacted on (tests change it).
	SMTPPort int `toml:"smtp_port"`
	// HeloName is sent in EHLO; empty means hostname.
	HeloName       string   `toml:"helo_name"`
	ConnectTimeout Duration `toml:"connect_timeout"`
	CommandTimeout Duration `toml:"command_timeout"`
	// TLS is smtp_tls_security_level: "none", "may" (opportunistic
	// STARTTLS), "encrypt" (TLS required, any certificate) or "verify".
	TLS string `toml:"tls"`
	// Relayhost is Postfix relayhost: the next hop for all remote mail
	// not routed by TransportFile: "[host]:port" (no MX lookup), "host"
	// (MX lookup), "[10.0.0.2]". Empty: deliver to each domain's MX.
	Relayhost string `toml:"relayhost"`
	// RelayhostPasswordFile is a Postfix sasl_passwd table: a plain path
	// ("[host]:port user:password" lines, every line checked) or any
	// lookup table as "type:name" (hash:, sqlite:, ...); re-read when it
	// changes. Credentials are only sent over TLS.
	RelayhostPasswordFile string `toml:"relayhost_password_file"`
	// TransportFile is a Postfix transport(5) table (transport_maps): a
	// plain path (every line checked) or any lookup table as "type:name"
	// (hash:, pcre:, sqlite:, ...); re-read when it changes.
	TransportFile string `toml:"transport_file"`
	// ConnectionCacheTimeLimit is how long an idle connection is kept
	// for the next message to the same destination (Postfix
	// smtp_connection_cache_time_limit); 0 turns connection reuse off.
	ConnectionCacheTimeLimit Duration `toml:"connection_cache_time_limit"`
	// ConnectionReuseTimeLimit is how long after it was opened a
	// connection may still be reused (smtp_connection_reuse_time_limit).
	ConnectionReuseTimeLimit Duration `toml:"connection_reuse_time_limit"`
}

// Queue holds the outbound queue's schedule, with Postfix's names. It is
// read at start; changes need a restart.
type Queue struct {
	MinimalBackoffTime          Duration `toml:"minimal_backoff_time"`
	MaximalBackoffTime          Duration `toml:"maximal_backoff_time"`
	MaximalQueueLifetime        Duration `toml:"maximal_queue_lifetime"`
	BounceQueueLifetime         Duration `toml:"bounce_queue_lifetime"`
	DelayWarningTime            Duration `toml:"delay_warning_time"`
	DestinationConcurrencyLimit int      `toml:"destination_concurrency_limit"`
	ConcurrencyLimit            int      `toml:"concurrency_limit"`
	// DoubleBounceRecipient gets notifications that could not be
	// delivered to their sender (Postfix 2bounce_notice_recipient); an
	// address without "@" is qualified with hostname.
	DoubleBounceRecipient string `toml:"2bounce_notice_recipient"`
}

// Log selects where the mail log goes.
type Log struct {
	Level string `toml:"level"`
	// File is a path to append to; empty means standard error.
	File string `toml:"file"`
	// Format is "text" (Postfix-style lines) or "json".
	Format string `toml:"format"`
	// Syslog sends the log to the local syslog daemon (/dev/log, facility
	// mail) as well; with File empty, only there.
	Syslog bool `toml:"syslog"`
	// SyslogName prefixes the program names, as Postfix's syslog_name:
	// "mailwarden" makes "mailwarden/smtpd".
	SyslogName string `toml:"syslog_name"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is the host:port serving /metrics; empty turns it off.
	Listen string `toml:"listen"`
}

// Default returns the built-in defaults: what a key means when it is absent.
func Default() *Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname:           host,
		DataDir:            "/var/lib/mailwarden",
		MyNetworks:         []string{"127.0.0.0/8", "::1/128"},
		RecipientDelimiter: "+",
		Listen: Listen{
			SMTP: []string{"0.0.0.0:25"},
		},
		SMTP: SMTP{
			Banner:                   "$hostname ESMTP",
			MessageSizeLimit:         25 << 20,
			MaxRecipients:            1000,
			MaxConnections:           10000,
			MaxConnectionsPerIP:      50,
			MaxConnectionsPerNetwork: 1000,
			ReservedConnections:      100,
			MaxLineLength:            64 << 10,
			HardErrorLimit:           20,
			JunkCommandLimit:         100,
			MaxMessagesPerSession:    1000,
			Timeout:                  Duration(5 * time.Minute),
			SessionTimeout:           Duration(time.Hour),
			DisableVRFYCommand:       true,
			PermitMyNetworks:         true,
			MinDataRate:              1 << 10,
			PeernameLookup:           true,
			SMTPLimits:               defaultSMTPLimits(),
		},
		Autoblock:    defaultAutoblock(),
		ARC:          defaultARC(),
		DomainKeys:   defaultDomainKeys(),
		DMARC:        defaultDMARC(),
		Submission:   Submission{PermitMyNetworks: true, RejectSenderLoginMismatch: true},
		Restrictions: Restrictions{DelayReject: true, DNSKnobs: DefaultDNSKnobs(), PolicyService: DefaultPolicyService()},
		Greylist:     DefaultGreylist(),
		SPF:          DefaultSPF(),
		DKIM:         DefaultDKIM(),
		Postscreen:   DefaultPostscreen(),
		Delivery:     Delivery{Fsync: true},
		Auth: Auth{
			FailureDelay:    Duration(2 * time.Second),
			MaxFailures:     10,
			FailureWindow:   Duration(10 * time.Minute),
			Mechanisms:      []string{"PLAIN", "LOGIN", "SCRAM-SHA-256"},
			SCRAMIterations: 10000,
		},
		IMAP: IMAP{
			MaxConnections:           10000,
			MaxConnectionsPerIP:      50,
			MaxConnectionsPerNetwork: 1000,
			ReservedConnections:      100,
			IdleTimeout:              Duration(30 * time.Minute),
			MaxLineLength:            64 << 10,
			MetadataMaxValueSize:     64 << 10,
			MetadataMaxEntries:       1000,
		},
		POP3: POP3{
			MaxConnections:           5000,
			MaxConnectionsPerIP:      20,
			MaxConnectionsPerNetwork: 500,
			ReservedConnections:      50,
			Timeout:                  Duration(10 * time.Minute),
		},
		DNS: DNS{Timeout: Duration(5 * time.Second)},
		Outbound: Outbound{
			SMTPPort:       25,
			ConnectTimeout: Duration(30 * time.Second),
			CommandTimeout: Duration(5 * time.Minute),
			TLS:            "may",

			ConnectionCacheTimeLimit: Duration(2 * time.Second),
			ConnectionReuseTimeLimit: Duration(300 * time.Second),
		},
		Queue: Queue{
			MinimalBackoffTime:          Duration(5 * time.Minute),
			MaximalBackoffTime:          Duration(4000 * time.Second),
			MaximalQueueLifetime:        Duration(5 * 24 * time.Hour),
			BounceQueueLifetime:         Duration(5 * 24 * time.Hour),
			DestinationConcurrencyLimit: 20,
			ConcurrencyLimit:            100,
			DoubleBounceRecipient:       "postmaster",
		},
		Log: Log{Level: "info", Format: "text", SyslogName: "mailwarden"},

		Local: Local{AliasFile: "/etc/aliases"},
	}
}

// PathFrom picks the config path: flag, else $MAILWARDEN_CONFIG, else DefaultPath.
func PathFrom(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := os.Getenv("MAILWARDEN_CONFIG"); p != "" {
		return p
	}
	return DefaultPath
}

// BannerText expands $hostname in the configured banner.
func (c *Config) BannerText() string {
	return strings.ReplaceAll(c.SMTP.Banner, "$hostname", c.Hostname)
}

// IsRelayDomain reports whether domain is listed in relay_domains.
func (c *Config) IsRelayDomain(domain string) bool {
	for _, d := range c.RelayDomains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// Restrictions are the restriction lists of the SMTP service on port 25,
// with Postfix's names and syntax inside each string ("check_client_access
// cidr:/etc/mailwarden/clients.cidr"). A list the file does not set keeps
// Mailwarden's built-in one; submission keeps its own fixed lists.
type Restrictions struct {
	Client    []string `toml:"client"`      // smtpd_client_restrictions
	Helo      []string `toml:"helo"`        // smtpd_helo_restrictions
	Sender    []string `toml:"sender"`      // smtpd_sender_restrictions
	Relay     []string `toml:"relay"`       // smtpd_relay_restrictions
	Recipient []string `toml:"recipient"`   // smtpd_recipient_restrictions
	Data      []string `toml:"data"`        // smtpd_data_restrictions
	EndOfData []string `toml:"end_of_data"` // smtpd_end_of_data_restrictions
	// HeloRequired is smtpd_helo_required.
	HeloRequired bool `toml:"helo_required"`
	// DelayReject is smtpd_delay_reject (default true).
	DelayReject bool `toml:"delay_reject"`
	// Classes is smtpd_restriction_classes: a name usable in a list that
	// stands for its own list.
	Classes map[string][]string `toml:"restriction_classes"`
	// DNSKnobs are the reply codes and texts of the DNS-based
	// restrictions, and soft_bounce (postscreen.go).
	DNSKnobs
	// PolicyService holds the policy_service_* keys (policyservice.go).
	PolicyService

	// Set names the list keys the file sets ("client", "end_of_data"...).
	Set map[string]bool `toml:"-"`
}

// InNets reports whether ip is inside one of nets.
func InNets(nets []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// InMyNetworks reports whether ip is inside mynetworks.
func (c *Config) InMyNetworks(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range c.Networks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Error is a config error tied to a place in the file.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one file.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}
