package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Greylist is [greylist]: postgrey's greylisting and taRgrey's tarpit,
// used where a restriction list names check_greylist. The option each key
// stands for is in docs/greylist.md.
type Greylist struct {
	// Delay is how long a new triplet is refused (postgrey --delay, 300 s).
	Delay Duration `toml:"delay"`
	// MaxAge drops triplets and auto-whitelisted clients not seen for this
	// long (postgrey --max-age, 35 days).
	MaxAge Duration `toml:"max_age"`
	// RetryWindow is how long after its first try a triplet may come back
	// and pass; a later first retry starts over (postgrey --retry-window,
	// 2 days).
	RetryWindow Duration `toml:"retry_window"`
	// AutoWhitelistClients whitelists a client address after this many
	// successful retries, one an hour counting (postgrey
	// --auto-whitelist-clients, 5; 0 turns it off).
	AutoWhitelistClients int `toml:"auto_whitelist_clients"`
	// WhitelistClients and WhitelistRecipients are files in postgrey's
	// whitelist_clients and whitelist_recipients formats.
	WhitelistClients    []string `toml:"whitelist_clients"`
	WhitelistRecipients []string `toml:"whitelist_recipients"`
	// Tarpit delays the RCPT answer to a client by this long (taRgrey
	// --tarpit; 0 turns tarpitting off, 125s is the classic setting).
	Tarpit Duration `toml:"tarpit"`
	// TarpitS25R tarpits only clients matching the S25R rules (true,
	// taRgrey with permit_client_nots25r); false tarpits every client.
	TarpitS25R bool `toml:"tarpit_s25r"`
	// GreylistNonS25R greylists, postgrey style, the clients that do not
	// match S25R while tarpitting is on (default false: they pass, as
	// permit_client_nots25r lets them pass in taRgrey's setup).
	GreylistNonS25R bool `toml:"greylist_non_s25r"`
	// S25RExceptions are files of clients never taken for S25R ones, in
	// the whitelist_clients format.
	S25RExceptions []string `toml:"s25r_exceptions"`
	// Text is the reply text (postgrey --greylist-text): %s is replaced by
	// the seconds left, %r by the recipient's domain.
	Text string `toml:"text"`
	// Action is what a greylisted try gets (postgrey --greylist-action):
	// DEFER_IF_PERMIT (a later reject in the stage wins), DEFER (450 at
	// once) or a 4NN code (that code at once).
	Action string `toml:"action"`
	// Header is the header field added when a triplet passes (postgrey
	// --x-greylist-header): %t seconds delayed, %v the version, %h the
	// host name, %d the date; "" adds none.
	Header string `toml:"header"`
	// IPv4CIDR and IPv6CIDR are the client network of a triplet
	// (postgrey --ipv4cidr 24, --ipv6cidr 64; 32 and 128 are
	// --lookup-by-host).
	IPv4CIDR int `toml:"ipv4_cidr"`
	IPv6CIDR int `toml:"ipv6_cidr"`
	// DNSWL are DNS allow lists in permit_dnswl_client's syntax
	// ("list.dnswl.org=127.0.[0..255].[1..3]"): a client listed on one
	// is neither greylisted nor tarpitted (postgrey has no such option;
	// in Postfix a permit_dnswl_client before the policy service does it).
	DNSWL []string `toml:"dnswl"`
}

// The postgrey and taRgrey defaults.
const (
	DefaultGreylistText   = "Greylisted, see http://postgrey.schweikert.ch/help/%r.html"
	DefaultGreylistHeader = "X-Greylist: delayed %t seconds by mailwarden-%v at %h; %d"
)

// DefaultGreylist is [greylist] when the file does not set a key.
func DefaultGreylist() Greylist {
	return Greylist{
		Delay:                Duration(300 * time.Second),
		MaxAge:               Duration(35 * 24 * time.Hour),
		RetryWindow:          Duration(2 * 24 * time.Hour),
		AutoWhitelistClients: 5,
		TarpitS25R:           true,
		Text:                 DefaultGreylistText,
		Action:               "DEFER_IF_PERMIT",
		Header:               DefaultGreylistHeader,
		IPv4CIDR:             24,
		IPv6CIDR:             64,
	}
}

// ParseGreylistAction reads [greylist] action: 0 for DEFER_IF_PERMIT
// (and ""), 450 for DEFER, the code for 4NN.
func ParseGreylistAction(s string) (int, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "DEFER_IF_PERMIT":
		return 0, nil
	case "DEFER":
		return 450, nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 400 && n <= 499 {
		return n, nil
	}
	return 0, fmt.Errorf("%q: want DEFER_IF_PERMIT, DEFER or a 4NN code", s)
}

// maxTarpit keeps a tarpit inside the 5 minutes a client waits for the
// RCPT reply (RFC 5321 4.5.3.2.3).
const maxTarpit = 4 * time.Minute

func (c *Config) validateGreylist(bad func(key, format string, a ...any)) {
	g := &c.Greylist
	switch {
	case g.Delay < 0:
		bad("greylist.delay", "must not be negative")
	case g.MaxAge.D() < time.Hour:
		bad("greylist.max_age", "must be at least 1h (postgrey counts it in days)")
	case g.RetryWindow < g.Delay:
		bad("greylist.retry_window", "must not be shorter than delay")
	}
	if g.AutoWhitelistClients < 0 {
		bad("greylist.auto_whitelist_clients", "must be 0 (off) or more")
	}
	if g.Tarpit < 0 || g.Tarpit.D() > maxTarpit {
		bad("greylist.tarpit", "must be from 0 (off) to %s: a client waits 5 minutes for a RCPT reply", maxTarpit)
	}
	if g.IPv4CIDR < 1 || g.IPv4CIDR > 32 {
		bad("greylist.ipv4_cidr", "must be from 1 to 32")
	}
	if g.IPv6CIDR < 1 || g.IPv6CIDR > 128 {
		bad("greylist.ipv6_cidr", "must be from 1 to 128")
	}
	if len(g.Text) > 400 || strings.ContainsAny(g.Text, "\r\n") {
		bad("greylist.text", "must be one line of at most 400 characters")
	}
	if _, err := ParseGreylistAction(g.Action); err != nil {
		bad("greylist.action", "%v", err)
	}
	if len(g.Header) > 400 || strings.ContainsAny(g.Header, "\r\n") || g.Header != "" && !strings.Contains(g.Header, ":") {
		bad("greylist.header", "must be one header line \"Name: value\" or empty")
	}
	for _, files := range []*[]string{&g.WhitelistClients, &g.WhitelistRecipients, &g.S25RExceptions} {
		for i, f := range *files {
			if !filepath.IsAbs(f) && c.Path != "" {
				(*files)[i] = filepath.Join(filepath.Dir(c.Path), f)
			}
		}
	}
}
