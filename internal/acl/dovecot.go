package acl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dovecot's acl plugin with "acl = vfile" keeps the ACL of a mailbox in
// a file named dovecot-acl in the mailbox's directory, one entry a line:
//
//	identifier rights[ :named-rights]
//
// identifier is "anyone", "authenticated", "owner", "user=NAME",
// "group=NAME" or "group-override=NAME", after "-" for negative rights;
// rights are the RFC 4314 letters (Dovecot writes "akxeilprwts"). Lines
// starting with "#" and blank lines are comments. This file reads them;
// the store applies them.

// DovecotFile is the name of Dovecot's per-mailbox ACL file.
const DovecotFile = "dovecot-acl"

// DovecotRule is one line of a dovecot-acl file.
type DovecotRule struct {
	Line       int
	Identifier string // as written, e.g. "user=bob@example.org", "-anyone", "group=team"
	Rights     Rights
	Named      string // Dovecot's named rights after ":" (no equivalent here), "" when none
}

// ErrNoEquivalent is wrapped by Entry for rules that have no equivalent
// here (groups, a restricted owner).
var ErrNoEquivalent = errors.New("no equivalent in Mailwarden")

// ParseDovecot reads a dovecot-acl file.
func ParseDovecot(r io.Reader) ([]DovecotRule, error) {
	var out []DovecotRule
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		letters, named, _ := strings.Cut(rest, ":")
		r, err := Parse(strings.TrimSpace(letters))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, DovecotRule{Line: n, Identifier: id, Rights: r, Named: strings.TrimSpace(named)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Entry turns a rule of a folder owned by a user of domain into an entry
// (its identifier in Identifier's stored form). "user=NAME" without a
// domain is NAME@domain (Dovecot set up with bare user names). A rule
// for the owner is ok (nil error, empty entry) when it gives every right,
// which the owner has here anyway; groups and a restricted owner wrap
// ErrNoEquivalent.
func (r DovecotRule) Entry(domain string) (Entry, error) {
	id, neg := strings.CutPrefix(r.Identifier, "-")
	var name string
	switch {
	case id == Anyone || id == Authenticated:
		name = id
	case id == "owner":
		if neg || r.Rights != All {
			return Entry{}, fmt.Errorf("%q: the owner always has every right here: %w", r.Identifier, ErrNoEquivalent)
		}
		return Entry{}, nil
	case strings.HasPrefix(id, "user=") && !strings.HasPrefix(id, "user=-"):
		name = strings.TrimPrefix(id, "user=")
		if !strings.Contains(name, "@") && domain != "" {
			name += "@" + domain
		}
	case strings.HasPrefix(id, "group=") || strings.HasPrefix(id, "group-override="):
		return Entry{}, fmt.Errorf("%q: groups are not supported: %w", r.Identifier, ErrNoEquivalent)
	default:
		return Entry{}, fmt.Errorf("%w: %q is not a Dovecot identifier", ErrBadIdentifier, r.Identifier)
	}
	if neg {
		name = "-" + name
	}
	stored, _, err := Identifier(name)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Identifier: stored, Rights: r.Rights}, nil
}

// DovecotFolder is the dovecot-acl file of one folder of a Maildir++
// tree.
type DovecotFolder struct {
	Folder string // Maildir++ name: "INBOX", "Work.2024" (modified UTF-7, as on disk)
	Path   string
	Rules  []DovecotRule
}

// ReadDovecotTree reads the dovecot-acl files of a Maildir++ tree (the
// layout of Dovecot's "maildir:" without LAYOUT=fs): dir/dovecot-acl is
// INBOX's, dir/.Name/dovecot-acl is folder Name's. Folders without a
// file are not listed.
func ReadDovecotTree(dir string) ([]DovecotFolder, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	folders := map[string]string{"INBOX": dir}
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && strings.HasPrefix(n, ".") && n != "." && n != ".." && len(n) > 1 {
			folders[n[1:]] = filepath.Join(dir, n)
		}
	}
	var out []DovecotFolder
	for name, d := range folders {
		p := filepath.Join(d, DovecotFile)
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("acl: %w", err)
		}
		rules, err := ParseDovecot(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("acl: %s: %w", p, err)
		}
		out = append(out, DovecotFolder{Folder: name, Path: p, Rules: rules})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Folder < out[j].Folder })
	return out, nil
}
