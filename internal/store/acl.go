package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"mailwarden/internal/acl"
)

// The shared mailboxes of a domain (Dovecot's public namespace) are the
// folders of a pseudo-owner named "@domain": no user name lacks its
// local part, so it is never a user. Its Maildir++ tree is
// data_dir/mail/.shared/<domain>/, outside every domain directory (no
// domain name starts with a dot). Of the default folders it has only
// INBOX, which IMAP never shows.
const sharedPrefix = "@"

// SharedAccount is the pseudo-owner of the shared mailboxes of domain.
func SharedAccount(domain string) Account {
	domain = strings.ToLower(domain)
	return Account{Username: sharedPrefix + domain, Maildir: ".shared/" + domain + "/"}
}

// SharedDomain returns the domain whose shared mailboxes username owns,
// and false for a user's own name.
func SharedDomain(username string) (string, bool) {
	if d, ok := strings.CutPrefix(username, sharedPrefix); ok && d != "" {
		return d, true
	}
	return "", false
}

// SharedAccounts lists the pseudo-owners that have folders, for Recover.
func (s *Store) SharedAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT DISTINCT username FROM mail_folder WHERE username LIKE '@%'`)
	if err != nil {
		return nil, fmt.Errorf("store: shared accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("store: shared accounts: %w", err)
		}
		if d, ok := SharedDomain(u); ok {
			out = append(out, SharedAccount(d))
		}
	}
	return out, rows.Err()
}

// ACL returns the entries of a folder (not the owner's implicit rights),
// sorted by identifier.
func (s *Store) ACL(ctx context.Context, a Account, folder string) ([]acl.Entry, error) {
	folder, err := canonName(folder)
	if err != nil {
		return nil, err
	}
	if _, shared := SharedDomain(a.Username); !shared {
		// A domain's shared mailboxes are made by CreateFolder only: a
		// lookup of one that does not exist creates nothing.
		if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
			return nil, err
		}
	}
	id, err := folderID(ctx, s.db.Read, a.Username, folder)
	if err != nil {
		return nil, err
	}
	es, err := aclEntries(ctx, s.db.Read, id)
	if err != nil {
		return nil, fmt.Errorf("store: ACL of %q of %s: %w", folder, a.Username, err)
	}
	return es, nil
}

func aclEntries(ctx context.Context, q querier, folderID int64) ([]acl.Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT identifier, rights FROM mail_acl WHERE folder_id=? ORDER BY identifier`, folderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []acl.Entry
	for rows.Next() {
		var id, letters string
		if err := rows.Scan(&id, &letters); err != nil {
			return nil, err
		}
		r, err := acl.Parse(letters)
		if err != nil {
			return nil, fmt.Errorf("identifier %s: %w", id, err)
		}
		out = append(out, acl.Entry{Identifier: id, Rights: r})
	}
	return out, rows.Err()
}

// SetACL changes the rights of identifier (acl.Identifier's stored form)
// on a folder as mode says and returns the rights it is left with; an
// identifier left with none loses its entry (RFC 4314 3.1).
func (s *Store) SetACL(ctx context.Context, a Account, folder, identifier string, mode acl.Mode, r acl.Rights) (acl.Rights, error) {
	folder, err := canonName(folder)
	if err != nil {
		return 0, err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return 0, err
	}
	var now acl.Rights
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := folderID(ctx, tx, a.Username, folder)
		if err != nil {
			return err
		}
		var cur acl.Rights
		var letters string
		switch err := tx.QueryRowContext(ctx, `SELECT rights FROM mail_acl WHERE folder_id=? AND identifier=?`, id, identifier).Scan(&letters); err {
		case nil:
			if cur, err = acl.Parse(letters); err != nil {
				return err
			}
		case sql.ErrNoRows:
		default:
			return err
		}
		now = mode.Apply(cur, r)
		if now == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM mail_acl WHERE folder_id=? AND identifier=?`, id, identifier)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO mail_acl(folder_id, identifier, rights) VALUES (?,?,?)
				ON CONFLICT(folder_id, identifier) DO UPDATE SET rights=excluded.rights`, id, identifier, now.Stored())
		}
		if err != nil {
			return err
		}
		return s.noteChange(ctx, tx, a.Username, folder, EventFolders, 0)
	})
	if err != nil {
		return 0, fmt.Errorf("store: set ACL of %q of %s for %s: %w", folder, a.Username, identifier, err)
	}
	s.publish(Event{Username: a.Username, Folder: folder, Kind: EventFolders})
	return now, nil
}

// DeleteACL removes the entry of identifier from a folder; removing one
// that is not there is no error (RFC 4314 3.2).
func (s *Store) DeleteACL(ctx context.Context, a Account, folder, identifier string) error {
	_, err := s.SetACL(ctx, a, folder, identifier, acl.Replace, 0)
	return err
}

// SharedFolder is a folder of another owner with the entries that give
// a user rights on it.
type SharedFolder struct {
	Owner, Folder string
	Entries       []acl.Entry
}

// SharedWith returns the folders of other users with an entry naming
// user, or anyone/authenticated among the folders of user's domain
// (acl.Entry.Matches), with all their entries; the caller works out the
// rights. Folders of shared pseudo-owners are not included (the caller
// lists them by domain).
func (s *Store) SharedWith(ctx context.Context, user string) ([]SharedFolder, error) {
	domain := ""
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		domain = user[i+1:]
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT f.id, f.username, f.name, a.identifier, a.rights
		FROM mail_acl a JOIN mail_folder f ON f.id = a.folder_id
		WHERE f.id IN (SELECT folder_id FROM mail_acl WHERE identifier IN (?, ?, ?))
		AND f.username <> ? AND f.username NOT LIKE '@%'
		ORDER BY f.username, f.name, a.identifier`, user, acl.Anyone, acl.Authenticated, user)
	if err != nil {
		return nil, fmt.Errorf("store: folders shared with %s: %w", user, err)
	}
	defer rows.Close()
	var out []SharedFolder
	last := int64(-1)
	for rows.Next() {
		var id int64
		var owner, name, ident, letters string
		if err := rows.Scan(&id, &owner, &name, &ident, &letters); err != nil {
			return nil, fmt.Errorf("store: folders shared with %s: %w", user, err)
		}
		r, err := acl.Parse(letters)
		if err != nil {
			return nil, fmt.Errorf("store: folder %q of %s: %w", name, owner, err)
		}
		if id != last {
			out = append(out, SharedFolder{Owner: owner, Folder: name})
			last = id
		}
		f := &out[len(out)-1]
		f.Entries = append(f.Entries, acl.Entry{Identifier: ident, Rights: r})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: folders shared with %s: %w", user, err)
	}
	// anyone and authenticated reach only the owner's domain.
	return slices.DeleteFunc(out, func(f SharedFolder) bool {
		return !strings.HasSuffix(f.Owner, "@"+domain) && !slices.ContainsFunc(f.Entries, func(e acl.Entry) bool {
			return strings.TrimPrefix(e.Identifier, "-") == user
		})
	}), nil
}

// OwnerACLs returns the entries of every folder of a that has any, by
// folder name.
func (s *Store) OwnerACLs(ctx context.Context, a Account) (map[string][]acl.Entry, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT f.name, a.identifier, a.rights
		FROM mail_acl a JOIN mail_folder f ON f.id = a.folder_id WHERE f.username = ?
		ORDER BY f.name, a.identifier`, a.Username)
	if err != nil {
		return nil, fmt.Errorf("store: ACLs of %s: %w", a.Username, err)
	}
	defer rows.Close()
	out := map[string][]acl.Entry{}
	for rows.Next() {
		var name, ident, letters string
		if err := rows.Scan(&name, &ident, &letters); err != nil {
			return nil, fmt.Errorf("store: ACLs of %s: %w", a.Username, err)
		}
		r, err := acl.Parse(letters)
		if err != nil {
			return nil, fmt.Errorf("store: folder %q of %s: %w", name, a.Username, err)
		}
		out[name] = append(out[name], acl.Entry{Identifier: ident, Rights: r})
	}
	return out, rows.Err()
}

// inheritACL gives a new folder the entries of its parent, as Dovecot
// does: a folder made inside a shared one is shared alike.
func inheritACL(ctx context.Context, tx *sql.Tx, username, name string) error {
	k := strings.LastIndex(name, Delimiter)
	if k <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_acl(folder_id, identifier, rights)
		SELECT c.id, a.identifier, a.rights FROM mail_acl a
		JOIN mail_folder p ON p.id = a.folder_id AND p.username = ? AND p.name = ?
		JOIN mail_folder c ON c.username = ? AND c.name = ?`, username, name[:k], username, name)
	return err
}
