package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"mailwarden/internal/sqldb"
)

// Store is the message store of one data directory.
type Store struct {
	db      *sqldb.DB
	root    string // data_dir/mail
	fsync   bool
	host    string
	pid     string
	origin  string // this process in mail_change rows
	log     *slog.Logger
	seq     atomic.Uint64
	dirs    dirSyncer
	ensured sync.Map // username -> struct{}: folders and directories exist
	hub     hub
	locks   locks
	stmts   writeStmts
}

// Options configure a Store.
type Options struct {
	Root     string // directory holding <domain>/<user>/ Maildirs
	Hostname string // used in Maildir file names
	Fsync    bool   // false only for throwaway test setups
	Logger   *slog.Logger
}

// New returns a Store over db.
func New(db *sqldb.DB, o Options) (*Store, error) {
	if err := os.MkdirAll(o.Root, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Store{db: db, root: o.Root, fsync: o.Fsync, host: safeHost(o.Hostname), pid: strconv.Itoa(os.Getpid()), origin: newOrigin(), log: o.Logger}
	if err := s.stmts.prepare(context.Background(), db.Write); err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return s, nil
}

// DefaultFolders are made with every mailbox; the second field is the
// RFC 6154 SPECIAL-USE attribute.
var DefaultFolders = []struct{ Name, SpecialUse string }{
	{"INBOX", ""}, {"Sent", `\Sent`}, {"Drafts", `\Drafts`}, {"Junk", `\Junk`}, {"Trash", `\Trash`},
}

// MailboxPath returns the absolute Maildir root for a relative maildir path.
func (s *Store) MailboxPath(maildir string) string {
	return filepath.Join(s.root, filepath.FromSlash(maildir))
}

// folderDir returns the Maildir++ directory of a folder: the root for
// INBOX, "<root>/.Name" for others (Dovecot's default layout).
func folderDir(mailboxRoot, folder string) string {
	if folder == "INBOX" {
		return mailboxRoot
	}
	return filepath.Join(mailboxRoot, "."+folder)
}

// EnsureMailbox creates the Maildir tree and the index rows of the default
// folders of a mailbox that has none yet (a mailbox with an INBOX row keeps
// the folders its user chose), and makes sure INBOX's directories exist. It
// is idempotent and cheap after the first call in a process.
func (s *Store) EnsureMailbox(ctx context.Context, username, maildir string) error {
	if _, ok := s.ensured.Load(username); ok {
		return nil
	}
	root := s.MailboxPath(maildir)
	if _, err := folderID(ctx, s.db.Read, username, "INBOX"); err == nil {
		if err := s.makeFolderDir(root, "INBOX"); err != nil {
			return fmt.Errorf("store: create %s: %w", root, err)
		}
		s.ensured.Store(username, struct{}{})
		return nil
	} else if !errors.Is(err, ErrNoFolder) {
		return err
	}
	folders := DefaultFolders
	if _, ok := SharedDomain(username); ok {
		folders = folders[:1] // shared mailboxes: only the hidden INBOX
	}
	for _, f := range folders {
		if err := s.makeFolderDir(root, f.Name); err != nil {
			return fmt.Errorf("store: create %s: %w", folderDir(root, f.Name), err)
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		uv, err := allocUIDValidity(ctx, tx, username)
		if err != nil {
			return err
		}
		for _, f := range folders {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_folder(username, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)
				VALUES (?,?,?,1,1,?,1) ON CONFLICT(username, name) DO NOTHING`, username, f.Name, uv, f.SpecialUse); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO quota2(username, bytes, messages) VALUES (?,0,0) ON CONFLICT(username) DO NOTHING`, username)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create folders of %s: %w", username, err)
	}
	s.ensured.Store(username, struct{}{})
	return nil
}

// Forget drops cached knowledge of a mailbox (after it was deleted).
func (s *Store) Forget(username string) { s.ensured.Delete(username) }

// DeleteMailbox removes the index rows of a mailbox and, when removeFiles
// is set, its Maildir tree.
func (s *Store) DeleteMailbox(ctx context.Context, username, maildir string, removeFiles bool) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_acl WHERE identifier IN (?, ?)`, username, "-"+username); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM mail_acl WHERE folder_id IN (SELECT id FROM mail_folder WHERE username=?)`,
			`DELETE FROM imap_metadata WHERE folder_id IN (SELECT id FROM mail_folder WHERE username=?)`,
			`DELETE FROM imap_metadata WHERE username=?`,        // its private entries on others' folders
			`DELETE FROM imap_server_metadata WHERE username=?`, // RFC 5464 server entries
			`DELETE FROM mail_message WHERE folder_id IN (SELECT id FROM mail_folder WHERE username=?)`,
			`DELETE FROM mail_expunged WHERE folder_id IN (SELECT id FROM mail_folder WHERE username=?)`,
			`DELETE FROM mail_folder_rename WHERE username=?`,
			`DELETE FROM mail_subscription WHERE username=?`,
			`DELETE FROM mail_pvt_seen WHERE username=?`, // its own \Seen in others' folders
		} {
			if _, err := tx.ExecContext(ctx, q, username); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_folder WHERE username=?`, username); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM quota2 WHERE username=?`, username)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", username, err)
	}
	s.Forget(username)
	if removeFiles {
		if err := os.RemoveAll(s.MailboxPath(maildir)); err != nil {
			return fmt.Errorf("store: remove files of %s: %w", username, err)
		}
	}
	return nil
}

// Usage returns the bytes and messages counted against a mailbox's quota.
func (s *Store) Usage(ctx context.Context, username string) (bytes, messages int64, err error) {
	err = s.db.Read.QueryRowContext(ctx, `SELECT bytes, messages FROM quota2 WHERE username=?`, username).Scan(&bytes, &messages)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: usage of %s: %w", username, err)
	}
	return bytes, messages, nil
}

func safeHost(h string) string {
	b := []byte(h)
	for i, c := range b {
		// Maildir names must not contain '/' or ':' (RFC-less convention, cr.yp.to/proto/maildir.html)
		if c == '/' || c == ':' || c == ',' || c < 0x21 || c > 0x7e {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "localhost"
	}
	return string(b)
}
