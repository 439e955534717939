package dkim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"mailwarden/internal/table"
)

// Finder picks the keys a message is signed with, from its From address.
// Without a signing table a domain with active keys in the Store signs
// its own mail (all of them: RSA and Ed25519 both when both exist). With
// one, as OpenDKIM's SigningTable and KeyTable: the signing table maps
// the From address to key names (refile: wildcard patterns tried in
// order; other table types in OpenDKIM's search order), the key table
// maps a key name to "domain:selector[:keyfile]" (no keyfile: the
// Store's key of that domain and selector). Without a key table a key
// name is a domain whose active Store keys sign.
type Finder struct {
	store    *Store
	signing  table.Table
	refile   bool
	keys     table.Table
	multiple bool

	mu    sync.Mutex
	files map[string]fileKey // keyfile path → parsed key
}

type fileKey struct {
	stamp string
	key   SigningKey
}

// NewFinder opens the tables ("" for none): signing is
// "refile:/path" or any table.Open spec (a bare path or "file:/path" is
// read as texthash); keys the same without refile. multiple is OpenDKIM's
// MultipleSignatures: every match signs, not only the first.
func NewFinder(store *Store, signing, keys string, multiple bool, opts table.Options) (*Finder, error) {
	f := &Finder{store: store, multiple: multiple, files: map[string]fileKey{}}
	var err error
	if signing != "" {
		if path, ok := strings.CutPrefix(signing, "refile:"); ok {
			f.refile = true
			f.signing, err = table.OpenFile("refile", path, opts, func(_ string, data []byte) (table.Table, error) {
				return ParseRefile(data)
			})
		} else {
			f.signing, err = openTable(signing, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("dkim: signing_table: %w", err)
		}
	}
	if keys != "" {
		if f.keys, err = openTable(keys, opts); err != nil {
			return nil, fmt.Errorf("dkim: key_table: %w", err)
		}
	}
	return f, nil
}

// openTable opens a table spec; OpenDKIM's bare paths and file: datasets
// are "key value" lines, Postfix's texthash.
func openTable(spec string, opts table.Options) (table.Table, error) {
	if strings.HasPrefix(spec, "/") {
		spec = "texthash:" + spec
	} else if p, ok := strings.CutPrefix(spec, "file:"); ok {
		spec = "texthash:" + p
	}
	return table.Open(spec, opts)
}

// Close releases the tables.
func (f *Finder) Close() {
	for _, t := range []table.Table{f.signing, f.keys} {
		if t != nil {
			table.Close(t)
		}
	}
}

// Keys returns the keys to sign a message from address (the From
// address; domain its domain, lower case). None means unsigned.
func (f *Finder) Keys(ctx context.Context, address, domain string) ([]SigningKey, error) {
	if f.signing == nil {
		return f.domainKeys(ctx, domain, "")
	}
	entries, err := f.lookupSigning(ctx, strings.ToLower(address), domain)
	if err != nil {
		return nil, err
	}
	var out []SigningKey
	for _, e := range entries {
		name, ident, _ := strings.Cut(strings.TrimSpace(e), " ")
		name, ident = strings.TrimSpace(name), strings.TrimSpace(ident)
		if name == "%" {
			name = domain
		}
		ident = strings.ReplaceAll(ident, "%", domain)
		ks, err := f.resolve(ctx, name, domain, ident)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
		if !f.multiple && len(out) > 0 {
			break
		}
	}
	return out, nil
}

// lookupSigning returns the signing table's values for address, first
// match first (all of them only with multiple).
func (f *Finder) lookupSigning(ctx context.Context, address, domain string) ([]string, error) {
	if f.refile {
		v, ok, err := f.signing.Lookup(ctx, address)
		if err != nil || !ok {
			return nil, err
		}
		return strings.Split(v, "\n"), nil
	}
	var out []string
	for _, k := range SigningKeys(address, domain) {
		v, ok, err := f.signing.Lookup(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("dkim: signing_table: %w", err)
		}
		if ok {
			out = append(out, v)
			if !f.multiple {
				break
			}
		}
	}
	return out, nil
}

// SigningKeys is OpenDKIM's search order in a SigningTable that is not a
// refile: user@host, host, user@.parent for each parent domain, .parent
// for each, user@*, *.
func SigningKeys(address, domain string) []string {
	user := address
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		user = address[:i]
	}
	keys := []string{user + "@" + domain, domain}
	var parents []string
	for d := domain; ; {
		_, rest, ok := strings.Cut(d, ".")
		if !ok || rest == "" {
			break
		}
		parents = append(parents, rest)
		d = rest
	}
	for _, p := range parents {
		keys = append(keys, user+"@."+p)
	}
	for _, p := range parents {
		keys = append(keys, "."+p)
	}
	return append(keys, user+"@*", "*")
}

// resolve turns a key name into keys.
func (f *Finder) resolve(ctx context.Context, name, fromDomain, ident string) ([]SigningKey, error) {
	if f.keys == nil {
		d, err := NormalizeDomain(name)
		if err != nil {
			return nil, fmt.Errorf("dkim: signing_table names %q: not a domain and no key_table", name)
		}
		return f.domainKeys(ctx, d, ident)
	}
	v, ok, err := f.keys.Lookup(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("dkim: key_table: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("dkim: key %q of the signing table is not in key_table", name)
	}
	kt, err := ParseKeyTableValue(v)
	if err != nil {
		return nil, err
	}
	if kt.Domain == "%" {
		kt.Domain = fromDomain
	}
	if kt.KeyFile == "" {
		k, err := f.store.Get(ctx, kt.Domain, kt.Selector)
		if err != nil {
			return nil, err
		}
		return []SigningKey{{Domain: k.Domain, Selector: k.Selector, Identity: checkIdentity(ident, k.Domain), Signer: k.Signer}}, nil
	}
	k, err := f.fileKey(kt)
	if err != nil {
		return nil, err
	}
	k.Identity = checkIdentity(ident, k.Domain)
	return []SigningKey{k}, nil
}

// checkIdentity drops an i= that is not d= or under it (OpenDKIM leaves
// it out too; RFC 6376 3.5).
func checkIdentity(ident, domain string) string {
	if ident == "" {
		return ""
	}
	at := strings.LastIndexByte(ident, '@')
	if at < 0 {
		ident, at = "@"+ident, 0 // i= is [local-part]@domain
	}
	d := strings.ToLower(ident[at+1:])
	if d == domain || strings.HasSuffix(d, "."+domain) {
		return ident
	}
	return ""
}

func (f *Finder) domainKeys(ctx context.Context, domain, ident string) ([]SigningKey, error) {
	if f.store == nil {
		return nil, errors.New("dkim: no key store")
	}
	keys, err := f.store.Active(ctx, domain)
	if err != nil {
		return nil, err
	}
	out := make([]SigningKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, SigningKey{Domain: k.Domain, Selector: k.Selector, Identity: checkIdentity(ident, k.Domain), Signer: k.Signer})
	}
	return out, nil
}

// fileKey reads an OpenDKIM key file, again when it changes.
func (f *Finder) fileKey(kt KeyTableEntry) (SigningKey, error) {
	fi, err := os.Stat(kt.KeyFile)
	if err != nil {
		return SigningKey{}, fmt.Errorf("dkim: key file: %w", err)
	}
	stamp := fmt.Sprintf("%s|%s|%d|%d", kt.Domain, kt.Selector, fi.Size(), fi.ModTime().UnixNano())
	f.mu.Lock()
	c, ok := f.files[kt.KeyFile]
	f.mu.Unlock()
	if ok && c.stamp == stamp {
		return c.key, nil
	}
	data, err := os.ReadFile(kt.KeyFile)
	if err != nil {
		return SigningKey{}, fmt.Errorf("dkim: key file: %w", err)
	}
	signer, err := ParsePrivateKey(data)
	if err != nil {
		return SigningKey{}, fmt.Errorf("dkim: key file %s: %w", kt.KeyFile, err)
	}
	k := SigningKey{Domain: kt.Domain, Selector: kt.Selector, Signer: signer}
	f.mu.Lock()
	f.files[kt.KeyFile] = fileKey{stamp, k}
	f.mu.Unlock()
	return k, nil
}

// KeyTableEntry is one KeyTable value.
type KeyTableEntry struct {
	Domain, Selector, KeyFile string
}

// ParseKeyTableValue reads "domain:selector[:keyfile]" (OpenDKIM's
// KeyTable; "%" as domain stands for the From domain).
func ParseKeyTableValue(v string) (KeyTableEntry, error) {
	parts := strings.SplitN(strings.TrimSpace(v), ":", 3)
	if len(parts) < 2 {
		return KeyTableEntry{}, fmt.Errorf("dkim: key_table value %q: want domain:selector[:keyfile]", v)
	}
	e := KeyTableEntry{Domain: strings.ToLower(strings.TrimSpace(parts[0])), Selector: strings.TrimSpace(parts[1])}
	if len(parts) == 3 {
		e.KeyFile = strings.TrimSpace(parts[2])
	}
	if e.Domain != "%" {
		d, err := NormalizeDomain(e.Domain)
		if err != nil {
			return KeyTableEntry{}, fmt.Errorf("dkim: key_table value %q: %w", v, err)
		}
		e.Domain = d
	}
	if err := CheckSelector(e.Selector); err != nil {
		return KeyTableEntry{}, fmt.Errorf("dkim: key_table value %q: %w", v, err)
	}
	return e, nil
}

// Refile is an OpenDKIM "refile:" table: "pattern value" lines where *
// in the pattern matches any characters, tried in file order,
// case-insensitively. Lookup returns every matching value, one a line.
type Refile struct {
	entries []refileEntry
}

type refileEntry struct {
	pattern []string // the pattern split at *
	value   string
}

// MaxRefileLines bounds a refile table.
const MaxRefileLines = 100000

// ParseRefile reads a refile table. Blank lines and lines starting with
// # are skipped.
func ParseRefile(data []byte) (*Refile, error) {
	r := &Refile{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if len(r.entries) >= MaxRefileLines {
			return nil, fmt.Errorf("line %d: more than %d entries", n, MaxRefileLines)
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return nil, fmt.Errorf("line %d: %q: want a pattern and a key name", n, line)
		}
		pat, val := line[:i], strings.TrimSpace(line[i+1:])
		if val == "" {
			return nil, fmt.Errorf("line %d: %q: want a pattern and a key name", n, line)
		}
		r.entries = append(r.entries, refileEntry{strings.Split(strings.ToLower(pat), "*"), val})
	}
	return r, nil
}

// Lookup implements table.Table.
func (r *Refile) Lookup(_ context.Context, key string) (string, bool, error) {
	key = strings.ToLower(key)
	var vals []string
	for _, e := range r.entries {
		if wildcard(e.pattern, key) {
			vals = append(vals, e.value)
		}
	}
	return strings.Join(vals, "\n"), len(vals) > 0, nil
}

// wildcard matches s against a pattern split at its stars: the first
// part is a prefix, the last a suffix, the middle ones appear in order
// (greedy leftmost is enough for *-only patterns; linear time).
func wildcard(parts []string, s string) bool {
	if len(parts) == 1 {
		return parts[0] == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
