package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailwarden/internal/table"
)

// DKIM is [dkim]: signing mail from authenticated users and mynetworks,
// verifying inbound signatures (OpenDKIM's opendkim.conf; the migration
// rows are in docs/msgauth.md).
type DKIM struct {
	// Verify checks the DKIM signatures of inbound mail (Mode v).
	Verify bool `toml:"verify"`
	// Sign signs mail from trusted senders for their From domain when it
	// has a key (Mode s).
	Sign bool `toml:"sign"`
	// Canonicalization is "header/body", each relaxed or simple.
	Canonicalization string `toml:"canonicalization"`
	// SignHeaders are the fields signed when present (SignHeaders); empty:
	// OpenDKIM's default list plus Message-ID and the MIME fields.
	SignHeaders []string `toml:"sign_headers"`
	// OversignHeaders are signed once more than present (OversignHeaders).
	OversignHeaders []string `toml:"oversign_headers"`
	// SigningTable and KeyTable are OpenDKIM's tables ("refile:/path" or a
	// table spec; "" for none: each domain signs with its own keys).
	SigningTable string `toml:"signing_table"`
	KeyTable     string `toml:"key_table"`
	// MultipleSignatures applies every signing table match, not the first.
	MultipleSignatures bool `toml:"multiple_signatures"`
	// SignatureTTL gives signatures an x= expiry (SignatureTTL; 0: none).
	SignatureTTL Duration `toml:"signature_ttl"`
	// RotatePublishDelay is how long after `dkim rotate` the new key
	// starts signing (time for its record to reach every resolver).
	RotatePublishDelay Duration `toml:"rotate_publish_delay"`
	// RotateRetireDelay is how long a retired key's record must stay in
	// DNS (mail signed with it may still be in queues), after which it is
	// deleted.
	RotateRetireDelay Duration `toml:"rotate_retire_delay"`
	// MaxSignatures is how many signatures of one message are verified
	// (MaximumSignaturesToVerify).
	MaxSignatures int `toml:"max_signatures"`
}

// DefaultDKIM is [dkim] when the file does not set a key.
func DefaultDKIM() DKIM {
	return DKIM{
		Verify:             true,
		Sign:               true,
		Canonicalization:   "relaxed/relaxed",
		OversignHeaders:    []string{"From", "To", "Cc", "Subject", "Date", "Reply-To"},
		RotatePublishDelay: Duration(72 * time.Hour),
		RotateRetireDelay:  Duration(7 * 24 * time.Hour),
		MaxSignatures:      5,
	}
}

func (c *Config) validateDKIM(bad func(key, format string, a ...any)) {
	d := &c.DKIM
	h, b, ok := strings.Cut(strings.ToLower(d.Canonicalization), "/")
	if !ok {
		b = "simple"
	}
	if h != "relaxed" && h != "simple" || b != "relaxed" && b != "simple" {
		bad("dkim.canonicalization", "must be header/body, each relaxed or simple, got %q", d.Canonicalization)
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"dkim.sign_headers", d.SignHeaders}, {"dkim.oversign_headers", d.OversignHeaders}} {
		for _, n := range list.names {
			if n == "" || strings.ContainsAny(n, ": \t\r\n") {
				bad(list.key, "%q is not a header field name", n)
			}
		}
	}
	if d.SignatureTTL < 0 || d.RotatePublishDelay < 0 || d.RotateRetireDelay < 0 {
		bad("dkim.signature_ttl", "signature_ttl, rotate_publish_delay and rotate_retire_delay must not be negative")
	}
	if d.MaxSignatures < 1 || d.MaxSignatures > 50 {
		bad("dkim.max_signatures", "must be from 1 to 50, got %d", d.MaxSignatures)
	}
	if d.KeyTable != "" && d.SigningTable == "" {
		bad("dkim.key_table", "needs a signing_table to name its keys")
	}
	for _, f := range []struct {
		key  string
		spec *string
	}{{"dkim.signing_table", &d.SigningTable}, {"dkim.key_table", &d.KeyTable}} {
		if *f.spec == "" {
			continue
		}
		*f.spec = c.dkimTablePath(*f.spec)
		if err := checkDKIMTable(*f.spec, f.key == "dkim.signing_table"); err != nil {
			bad(f.key, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
}

// dkimTablePath makes the file of a table spec absolute (relative to the
// config file); a bare path or file:path is OpenDKIM's flat file.
func (c *Config) dkimTablePath(spec string) string {
	typ, name, ok := strings.Cut(spec, ":")
	if !ok {
		typ, name = "", spec
	}
	if c.Path == "" || name == "" || filepath.IsAbs(name) || typ == "inline" || typ == "static" {
		return spec
	}
	name = filepath.Join(filepath.Dir(c.Path), name)
	if typ == "" {
		return name
	}
	return typ + ":" + name
}

func checkDKIMTable(spec string, signing bool) error {
	switch typ, name, _ := strings.Cut(spec, ":"); {
	case filepath.IsAbs(spec):
		spec = "texthash:" + spec
	case typ == "file":
		spec = "texthash:" + name
	case typ == "refile":
		if !signing {
			return errors.New("refile: tables are for the signing_table only")
		}
		_, err := os.Stat(name)
		return err
	}
	t, err := table.Open(spec, table.Options{ReloadInterval: -1})
	if err != nil {
		return err
	}
	return table.Close(t)
}
