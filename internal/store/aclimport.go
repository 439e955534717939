package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailwarden/internal/acl"
)

// ACLImport is what ImportACL did.
type ACLImport struct {
	Folders, Entries int
	// Skipped lists, one a line, what was not imported and why:
	// groups, a restricted owner, folders the mailbox lacks.
	Skipped []string
}

// ImportACL reads the dovecot-acl files of a Dovecot Maildir++ tree dir
// (acl.ReadDovecotTree) and gives a's folders of the same names those
// entries, each replacing the identifier's rights (an identifier the
// files do not name keeps its entry). Bare user names are taken as
// users of a's domain. Folders a lacks are skipped: import the Maildir
// first (Import).
func (s *Store) ImportACL(ctx context.Context, a Account, dir string) (ACLImport, error) {
	var st ACLImport
	folders, err := acl.ReadDovecotTree(dir)
	if err != nil {
		return st, fmt.Errorf("store: import ACLs of %s: %w", a.Username, err)
	}
	domain, shared := SharedDomain(a.Username)
	if i := strings.LastIndexByte(a.Username, '@'); !shared && i >= 0 {
		domain = a.Username[i+1:]
	}
	for _, f := range folders {
		if _, err := s.Folder(ctx, a, f.Folder); errors.Is(err, ErrNoFolder) {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: folder %s does not exist", f.Path, f.Folder))
			continue
		} else if err != nil {
			return st, err
		}
		st.Folders++
		for _, r := range f.Rules {
			e, err := r.Entry(domain)
			if errors.Is(err, acl.ErrNoEquivalent) || errors.Is(err, acl.ErrBadIdentifier) {
				st.Skipped = append(st.Skipped, fmt.Sprintf("%s:%d: %v", f.Path, r.Line, err))
				continue
			}
			if err != nil {
				return st, err
			}
			if r.Named != "" {
				st.Skipped = append(st.Skipped, fmt.Sprintf("%s:%d: named rights %q ignored", f.Path, r.Line, r.Named))
			}
			if e.Identifier == "" {
				continue // the owner with every right
			}
			if e.Identifier == a.Username || e.Identifier == "-"+a.Username {
				st.Skipped = append(st.Skipped, fmt.Sprintf("%s:%d: %s owns the folder and has every right", f.Path, r.Line, a.Username))
				continue
			}
			if _, err := s.SetACL(ctx, a, f.Folder, e.Identifier, acl.Replace, e.Rights); err != nil {
				return st, err
			}
			st.Entries++
		}
	}
	return st, nil
}
