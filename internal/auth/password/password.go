package password

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Verify, wrapped with the scheme and a detail. A wrong
// password is not an error: Verify returns (false, nil) for it.
var (
	// ErrUnknownScheme: the stored string names no scheme this package
	// knows, or one it deliberately does not support (DES crypt, $2x$, ...).
	ErrUnknownScheme = errors.New("unknown or unsupported password scheme")
	// ErrMalformed: the scheme is known but the stored string is not a valid
	// instance of it, or its cost parameters exceed limits.
	ErrMalformed = errors.New("malformed stored hash")
)

// hashParams are the argon2id parameters Hash uses. m=19456 KiB (19 MiB),
// t=2, p=1 is OWASP's recommended argon2id minimum: about 30 ms of one core
// per login, and 100 concurrent logins need ~1.9 GiB. Dovecot's own default
// (m=65536, t=3) would need 6.4 GiB for the same burst. Tests may lower it.
var hashParams = argon2Params{memory: 19456, time: 2, threads: 1}

const (
	hashSaltLen = 16 // bytes, as Dovecot/libsodium use
	hashKeyLen  = 32 // bytes
)

// limits bound the work one stored hash can demand of Verify. Stored
// strings come from the admin's database, but a corrupt or hostile row must
// not pin a CPU for minutes or exhaust memory. Tests may lower them.
var limits = struct {
	argon2MemoryKiB uint32 // 1 GiB
	argon2Time      uint32
	bcryptCost      int // cost 18 is already ~20 s
	shaCryptRounds  int // 10M rounds of SHA-512 is several seconds
	scramIterations int // PBKDF2 rounds of a stored SCRAM hash
}{
	argon2MemoryKiB: 1 << 20,
	argon2Time:      64,
	bcryptCost:      18,
	shaCryptRounds:  10_000_000,
	scramIterations: 10_000_000,
}

// Hash returns a new stored form for plain in the default scheme, argon2id,
// written as Dovecot writes it:
// "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>".
func Hash(plain string) (string, error) {
	salt := make([]byte, hashSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	h := argon2Hash{
		variant: "argon2id",
		params:  hashParams,
		salt:    salt,
	}
	h.key = h.derive(plain, hashKeyLen)
	return "{ARGON2ID}" + h.encode(), nil
}

// Verify reports whether plain matches stored. A wrong password gives
// (false, nil); an unknown scheme or malformed stored string gives (false,
// err) with err describing it (it never contains plain). Hash comparisons
// are constant-time.
func Verify(stored, plain string) (bool, error) {
	p, err := parse(stored)
	if err != nil {
		return false, err
	}
	if _, crypt := cryptStyle[p.name]; crypt && cryptScheme(p.body) != p.name {
		return false, malformed(p, "body is not a %s string", strings.Join(cryptStyle[p.name], " or "))
	}
	switch p.name {
	case "ARGON2ID", "ARGON2I":
		return verifyArgon2(p, plain)
	case "BLF-CRYPT":
		return verifyBcrypt(p, plain)
	case "SHA512-CRYPT", "SHA256-CRYPT":
		return verifySHACrypt(p, plain)
	case "MD5-CRYPT":
		return verifyMD5Crypt(p, plain)
	case "CRAM-MD5":
		return verifyCRAMMD5(p, plain)
	case "PLAIN":
		return verifyPlain(p, plain)
	case "SCRAM-SHA-1", "SCRAM-SHA-256":
		return verifySCRAM(p, plain)
	}
	if spec, ok := digests[p.name]; ok {
		return verifyDigest(p, spec, plain)
	}
	// "{CRYPT}" with a body that is not one of the crypt formats above.
	return false, fmt.Errorf("password: {%s}: %w: only $1$, $5$, $6$, $2a$/$2b$/$2y$ and $argon2i(d)$ crypt strings are supported (not DES or other crypt(3) methods)",
		p.label, ErrUnknownScheme)
}

// Scheme returns the canonical scheme name of stored ("ARGON2ID",
// "BLF-CRYPT", "SHA512-CRYPT", "SSHA512", "SCRAM-SHA-256", "PLAIN", ...),
// or "" if it is not recognised. It looks only at the prefix, not at
// whether the rest is valid.
// Aliases are canonicalised: SHA -> SHA1, CLEAR/CLEARTEXT -> PLAIN,
// HMAC-MD5 -> CRAM-MD5; "{CRYPT}" and "{MD5}" are named after the format of
// what follows them (e.g. "{CRYPT}$6$..." is SHA512-CRYPT); ".b64"/".hex"
// suffixes are dropped. "{CRYPT}" with an unsupported body is "CRYPT".
func Scheme(stored string) string {
	p, err := parse(stored)
	if err != nil {
		return ""
	}
	return p.name
}

// NeedsRehash reports whether stored should be replaced by Hash(plain) after
// a successful login: true for every scheme other than argon2id, and for
// argon2id hashes weaker than the ones Hash makes now. It is false for
// strings Verify cannot handle (they can never log in anyway).
func NeedsRehash(stored string) bool {
	p, err := parse(stored)
	if err != nil {
		return false
	}
	switch p.name {
	case "ARGON2ID":
		h, err := parseArgon2(p)
		if err != nil {
			return false
		}
		return h.params.memory < hashParams.memory ||
			h.params.time < hashParams.time ||
			len(h.salt) < hashSaltLen || len(h.key) < 16
	case "CRYPT":
		return false
	}
	return true
}

// textEncoding is the text encoding of a raw digest, as chosen by a Dovecot
// scheme suffix (".b64", ".hex") or the scheme's default.
type textEncoding int

const (
	encDefault textEncoding = iota
	encBase64
	encHex
)

// parsed is a stored string split into its parts.
type parsed struct {
	name  string       // canonical scheme name
	label string       // the scheme as written, upper-cased, for messages
	enc   textEncoding // explicit suffix encoding, or encDefault
	body  string       // everything after "{SCHEME}"
}

// aliases maps every accepted (upper-case) scheme name to its canonical
// name. "CRYPT" and "MD5" are resolved further by looking at the body.
var aliases = map[string]string{
	"ARGON2ID":      "ARGON2ID",
	"ARGON2I":       "ARGON2I",
	"BLF-CRYPT":     "BLF-CRYPT",
	"SHA512-CRYPT":  "SHA512-CRYPT",
	"SHA256-CRYPT":  "SHA256-CRYPT",
	"MD5-CRYPT":     "MD5-CRYPT",
	"CRYPT":         "CRYPT",
	"MD5":           "MD5",
	"SSHA512":       "SSHA512",
	"SSHA256":       "SSHA256",
	"SSHA":          "SSHA",
	"SMD5":          "SMD5",
	"SHA512":        "SHA512",
	"SHA256":        "SHA256",
	"SHA":           "SHA1",
	"SHA1":          "SHA1",
	"PLAIN-MD5":     "PLAIN-MD5",
	"LDAP-MD5":      "LDAP-MD5",
	"CRAM-MD5":      "CRAM-MD5",
	"HMAC-MD5":      "CRAM-MD5",
	"SCRAM-SHA-1":   "SCRAM-SHA-1",
	"SCRAM-SHA-256": "SCRAM-SHA-256",
	"PLAIN":         "PLAIN",
	"CLEAR":         "PLAIN",
	"CLEARTEXT":     "PLAIN",
}

// cryptStyle lists the schemes whose body is a self-describing crypt(3)
// string, and the prefix that body must have.
var cryptStyle = map[string][]string{
	"ARGON2ID":     {"$argon2id$"},
	"ARGON2I":      {"$argon2i$"},
	"BLF-CRYPT":    {"$2a$", "$2b$", "$2y$"},
	"SHA512-CRYPT": {"$6$"},
	"SHA256-CRYPT": {"$5$"},
	"MD5-CRYPT":    {"$1$"},
}

// cryptScheme names the scheme of a bare crypt string, or "".
func cryptScheme(s string) string {
	for name, prefixes := range cryptStyle {
		for _, pre := range prefixes {
			if strings.HasPrefix(s, pre) {
				return name
			}
		}
	}
	return ""
}

func parse(stored string) (parsed, error) {
	if !strings.HasPrefix(stored, "{") {
		if name := cryptScheme(stored); name != "" {
			return parsed{name: name, label: name, body: stored}, nil
		}
		return parsed{}, fmt.Errorf("password: %w: no {SCHEME} prefix and not a recognised crypt string", ErrUnknownScheme)
	}
	end := strings.IndexByte(stored, '}')
	if end < 0 {
		return parsed{}, fmt.Errorf("password: %w: '{' without closing '}'", ErrUnknownScheme)
	}
	label := strings.ToUpper(stored[1:end])
	p := parsed{label: label, body: stored[end+1:]}
	name := label
	if i := strings.LastIndexByte(label, '.'); i >= 0 {
		switch label[i+1:] {
		case "B64", "BASE64":
			p.enc = encBase64
		case "HEX":
			p.enc = encHex
		default:
			return parsed{}, fmt.Errorf("password: {%s}: %w", quoteLabel(label), ErrUnknownScheme)
		}
		name = label[:i]
	}
	canon, ok := aliases[name]
	if !ok {
		return parsed{}, fmt.Errorf("password: {%s}: %w", quoteLabel(label), ErrUnknownScheme)
	}
	switch canon {
	case "CRYPT":
		if c := cryptScheme(p.body); c != "" {
			canon = c
		}
	case "MD5":
		// Dovecot's {MD5} is MD5-CRYPT, but old setups used it for a
		// plain MD5 digest; tell them apart by the body.
		canon = "PLAIN-MD5"
		if strings.HasPrefix(p.body, "$1$") {
			canon = "MD5-CRYPT"
		}
	}
	p.name = canon
	if _, crypt := cryptStyle[canon]; (crypt || canon == "CRYPT") && p.enc != encDefault {
		return parsed{}, fmt.Errorf("password: {%s}: %w: crypt schemes take no .b64/.hex suffix", quoteLabel(label), ErrMalformed)
	}
	return p, nil
}

// quoteLabel makes a scheme label from stored data safe to put in a log
// line: printable ASCII only, at most 32 characters.
func quoteLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 32; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// malformed builds an ErrMalformed error for scheme label.
func malformed(p parsed, format string, args ...any) error {
	return fmt.Errorf("password: {%s}: %w: %s", quoteLabel(p.label), ErrMalformed, fmt.Sprintf(format, args...))
}
