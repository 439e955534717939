package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Policy is a requested handling of failing mail (RFC 7489 6.3 p=).
type Policy string

// The policies, in order of strength.
const (
	None       Policy = "none"
	Quarantine Policy = "quarantine"
	Reject     Policy = "reject"
)

// weaker is the next policy down (RFC 7489 6.6.4: a message not sampled
// by pct gets the next less strict policy).
func (p Policy) weaker() Policy {
	switch p {
	case Reject:
		return Quarantine
	default:
		return None
	}
}

// ParsePolicy reads a p=, sp= or np= value.
func ParsePolicy(s string) (Policy, bool) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case None, Quarantine, Reject:
		return p, true
	}
	return "", false
}

// Alignment is an identifier alignment mode (RFC 7489 3.1).
type Alignment byte

const (
	Relaxed Alignment = 'r'
	Strict  Alignment = 's'
)

func (a Alignment) String() string { return string(a) }

// URI is one reporting address of rua= or ruf= with its size limit
// (RFC 7489 6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]).
type URI struct {
	URI     string // as published, without the size suffix
	Address string // for mailto: the address ("" for other schemes)
	MaxSize int64  // bytes; 0: no limit
}

// Record is a parsed DMARC policy record.
type Record struct {
	Raw       string
	Policy    Policy // p=
	SubPolicy Policy // sp= (Policy when absent)
	NPolicy   Policy // np= (DMARCbis; SubPolicy when absent)
	HasSP     bool
	HasNP     bool
	// PSD is DMARCbis's psd= (4.7): 'y' for a public suffix domain's
	// record, 'n' for an organizational domain's, 0 (the default "u")
	// when the record does not say. The tree walk reads it.
	PSD   byte
	ADKIM Alignment // adkim=, default relaxed
	ASPF  Alignment // aspf=, default relaxed
	Pct   int       // pct=, default 100
	RUA   []URI
	RUF   []URI
	FO    string // fo=, default "0"
	RF    string // rf=, default "afrf"
	RI    int    // ri=, seconds, default 86400
	// NoPolicy is set when p= was missing or invalid but rua= named a
	// valid URI: the record is taken as p=none (RFC 7489 6.6.3 step 6).
	NoPolicy bool
}

// Limits on what a record may hold: it comes from a stranger's DNS.
const (
	maxRecord = 4096 // bytes
	maxURIs   = 16   // per rua= / ruf=
)

// ErrNotDMARC means the TXT string is not a DMARC record at all (it does
// not start with v=DMARC1): discovery ignores it (RFC 7489 6.6.3 step 3).
var ErrNotDMARC = errors.New("dmarc: not a DMARC1 record")

// IsRecord reports whether a TXT string claims to be a DMARC record: its
// first tag is v=DMARC1 (RFC 7489 6.3: v= MUST come first).
func IsRecord(s string) bool {
	tag, _, _ := strings.Cut(s, ";")
	name, val, ok := strings.Cut(tag, "=")
	return ok && strings.TrimSpace(name) == "v" && strings.TrimSpace(val) == "DMARC1"
}

// ParseRecord parses a DMARC policy record (RFC 7489 6.3, 6.4). Unknown
// tags are ignored (6.3); a record whose p= is missing or invalid is an
// error unless rua= holds a valid URI (6.6.3 step 6).
func ParseRecord(s string) (*Record, error) {
	if len(s) > maxRecord {
		return nil, fmt.Errorf("dmarc: record longer than %d bytes", maxRecord)
	}
	if !IsRecord(s) {
		return nil, ErrNotDMARC
	}
	r := &Record{Raw: s, ADKIM: Relaxed, ASPF: Relaxed, Pct: 100, FO: "0", RF: "afrf", RI: 86400}
	var pErr, spErr error
	var sawP bool
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if i == 0 || part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("dmarc: tag %q has no value", part)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if seen[name] {
			return nil, fmt.Errorf("dmarc: tag %s appears twice", name)
		}
		seen[name] = true
		switch name {
		case "v":
			return nil, errors.New("dmarc: v= must be the first tag only")
		case "p":
			sawP = true
			p, ok := ParsePolicy(val)
			if !ok {
				pErr = fmt.Errorf("dmarc: p=%q is not none, quarantine or reject", val)
			}
			r.Policy = p
		case "sp":
			p, ok := ParsePolicy(val)
			if !ok {
				spErr = fmt.Errorf("dmarc: sp=%q is not none, quarantine or reject", val)
			}
			r.SubPolicy, r.HasSP = p, ok
		case "np":
			// DMARCbis: an invalid np= is ignored like an unknown tag.
			if p, ok := ParsePolicy(val); ok {
				r.NPolicy, r.HasNP = p, true
			}
		case "psd":
			// DMARCbis 4.7: y, n or u; another value is ignored like
			// an unknown tag.
			switch v := strings.ToLower(val); v {
			case "y", "n":
				r.PSD = v[0]
			}
		case "adkim", "aspf":
			var a Alignment
			switch strings.ToLower(val) {
			case "r":
				a = Relaxed
			case "s":
				a = Strict
			default:
				return nil, fmt.Errorf("dmarc: %s=%q is not r or s", name, val)
			}
			if name == "adkim" {
				r.ADKIM = a
			} else {
				r.ASPF = a
			}
		case "pct":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 100 {
				return nil, fmt.Errorf("dmarc: pct=%q is not 0 to 100", val)
			}
			r.Pct = n
		case "rua", "ruf":
			uris, err := parseURIs(val)
			if err != nil {
				return nil, fmt.Errorf("dmarc: %s: %w", name, err)
			}
			if name == "rua" {
				r.RUA = uris
			} else {
				r.RUF = uris
			}
		case "fo":
			r.FO = val
		case "rf":
			r.RF = val
		case "ri":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("dmarc: ri=%q is not a number of seconds", val)
			}
			r.RI = int(n)
		}
	}
	// RFC 7489 6.6.3 step 6: without a valid p= (or with an invalid sp=)
	// the record counts as p=none when it names a valid rua; otherwise
	// DMARC does not apply.
	if !sawP || pErr != nil || spErr != nil {
		if len(r.RUA) == 0 {
			switch {
			case pErr != nil:
				return nil, pErr
			case spErr != nil:
				return nil, spErr
			}
			return nil, errors.New("dmarc: record has no p= tag")
		}
		r.Policy, r.SubPolicy, r.HasSP, r.NoPolicy = None, None, false, true
	}
	if !r.HasSP {
		r.SubPolicy = r.Policy
	}
	if !r.HasNP {
		r.NPolicy = r.SubPolicy
	}
	return r, nil
}

// parseURIs reads a comma-separated list of dmarc-uri (RFC 7489 6.4);
// commas inside a URI must be %-encoded, so a comma always separates.
func parseURIs(s string) ([]URI, error) {
	var out []URI
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(out) == maxURIs {
			return nil, fmt.Errorf("more than %d URIs", maxURIs)
		}
		u, err := parseURI(part)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("no URI")
	}
	return out, nil
}

func parseURI(s string) (URI, error) {
	u := URI{URI: s}
	if i := strings.LastIndexByte(s, '!'); i >= 0 {
		n, err := parseSize(s[i+1:])
		if err != nil {
			return URI{}, fmt.Errorf("%q: %w", s, err)
		}
		u.URI, u.MaxSize = s[:i], n
	}
	pu, err := url.Parse(u.URI)
	if err != nil || pu.Scheme == "" {
		return URI{}, fmt.Errorf("%q is not a URI", u.URI)
	}
	if strings.EqualFold(pu.Scheme, "mailto") {
		addr, err := url.PathUnescape(pu.Opaque)
		if err != nil {
			return URI{}, fmt.Errorf("%q: %w", u.URI, err)
		}
		addr, _, _ = strings.Cut(addr, "?") // RFC 6068 hfields are not ours
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n<>,") {
			return URI{}, fmt.Errorf("%q is not a mailto: address", u.URI)
		}
		u.Address = addr
	}
	return u, nil
}

// parseSize reads the size of a dmarc-uri: digits, then an optional unit
// k, m, g or t (powers of two, RFC 7489 6.4); no unit means bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is not a number with k, m, g or t", s)
	}
	return n * mult, nil
}

// Domain is the domain of a mailto: URI's address, lower case.
func (u URI) Domain() string {
	at := strings.LastIndexByte(u.Address, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(u.Address[at+1:], "."))
}
