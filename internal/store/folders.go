package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Errors of folder operations; returned wrapped, test with errors.Is.
var (
	ErrNoFolder       = errors.New("no such folder")
	ErrFolderExists   = errors.New("folder already exists")
	ErrHasChildren    = errors.New("folder has subfolders")
	ErrCannotDelete   = errors.New("INBOX cannot be deleted")
	ErrBadName        = errors.New("invalid folder name")
	ErrBadSpecialUse  = errors.New("unsupported special-use attribute")
	errRenameIntoSelf = fmt.Errorf("a folder cannot be moved under itself: %w", ErrBadName)
)

// Delimiter is the IMAP hierarchy delimiter, which is also the Maildir++
// separator (Dovecot's default): IMAP "Work.2024" is the directory
// ".Work.2024" of the mailbox.
const Delimiter = "."

// specialUses are the RFC 6154 attributes a folder may carry.
var specialUses = map[string]string{
	`\all`: `\All`, `\archive`: `\Archive`, `\drafts`: `\Drafts`, `\flagged`: `\Flagged`,
	`\junk`: `\Junk`, `\sent`: `\Sent`, `\trash`: `\Trash`,
}

// FolderInfo is the state of one folder, as STATUS and SELECT report it.
type FolderInfo struct {
	Name, SpecialUse string
	Subscribed       bool

	UIDValidity, UIDNext, HighestModSeq int64

	Messages, Unseen, Deleted, Size int64 // Size: sum of message sizes (STATUS=SIZE)

	// RecentUID is the lowest UID no IMAP session has claimed as \Recent
	// (ClaimRecent); Recent counts the messages at or above it.
	RecentUID, Recent int64
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// canonName validates an IMAP folder name and returns its stored form:
// "INBOX" in any case is INBOX (RFC 9051 5.1); other names are kept as
// the client sent them (modified UTF-7).
func canonName(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	bad := name == "" || len(name) > 200 || strings.HasPrefix(name, Delimiter) ||
		strings.HasSuffix(name, Delimiter) || strings.Contains(name, Delimiter+Delimiter)
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		// '/' would leave the Maildir++ layout; '*' and '%' are LIST wildcards.
		bad = c < 0x20 || c == 0x7f || c == '/' || c == '*' || c == '%'
	}
	if bad {
		return "", fmt.Errorf("%q: %w", name, ErrBadName)
	}
	return name, nil
}

// isChild reports whether name is below parent in the hierarchy.
func isChild(name, parent string) bool {
	return strings.HasPrefix(name, parent+Delimiter)
}

func flagPattern(flag string) string { return "%" + flag + "%" }

// folderQuery selects folders with their message counts; the caller
// appends conditions and the GROUP BY.
const folderQuery = `SELECT f.id, f.name, f.special_use, f.subscribed, f.uidvalidity, f.uidnext, f.highestmodseq, f.recent_uid,
	COUNT(m.uid),
	COALESCE(SUM(CASE WHEN m.uid IS NOT NULL AND m.flags NOT LIKE ? ESCAPE '|' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN m.flags LIKE ? ESCAPE '|' THEN 1 ELSE 0 END), 0),
	CAST(COALESCE(SUM(m.size), 0) AS BIGINT),
	COALESCE(SUM(CASE WHEN m.uid >= f.recent_uid THEN 1 ELSE 0 END), 0)
	FROM mail_folder f LEFT JOIN mail_message m ON m.folder_id = f.id
	WHERE f.username = ?`

const folderGroup = ` GROUP BY f.id, f.name, f.special_use, f.subscribed, f.uidvalidity, f.uidnext, f.highestmodseq, f.recent_uid`

func scanFolder(sc interface{ Scan(...any) error }) (int64, FolderInfo, error) {
	var id, sub int64
	var fi FolderInfo
	err := sc.Scan(&id, &fi.Name, &fi.SpecialUse, &sub, &fi.UIDValidity, &fi.UIDNext, &fi.HighestModSeq, &fi.RecentUID,
		&fi.Messages, &fi.Unseen, &fi.Deleted, &fi.Size, &fi.Recent)
	fi.Subscribed = sub != 0
	return id, fi, err
}

// sortFolders orders by name with INBOX first.
func sortFolders(fs []FolderInfo) {
	sort.Slice(fs, func(i, j int) bool {
		if (fs[i].Name == "INBOX") != (fs[j].Name == "INBOX") {
			return fs[i].Name == "INBOX"
		}
		return fs[i].Name < fs[j].Name
	})
}

// ListFolders returns every folder of a with its counts, INBOX first,
// then sorted by name.
func (s *Store) ListFolders(ctx context.Context, a Account) ([]FolderInfo, error) {
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, folderQuery+folderGroup,
		flagPattern(`\Seen`), flagPattern(`\Deleted`), a.Username)
	if err != nil {
		return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
	}
	defer rows.Close()
	var out []FolderInfo
	var ids []int64
	for rows.Next() {
		id, fi, err := scanFolder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
		}
		out, ids = append(out, fi), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
	}
	if a.private() {
		if err := pvtUnseenAll(ctx, s.db.Read, a, ids, out); err != nil {
			return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
		}
	}
	sortFolders(out)
	return out, nil
}

// ListFolderStates is ListFolders without the counts (Messages, Unseen,
// Deleted, Size and Recent are zero): one row a folder, read without
// touching the messages, for a LIST that shows no STATUS.
func (s *Store) ListFolderStates(ctx context.Context, a Account) ([]FolderInfo, error) {
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT name, special_use, subscribed, uidvalidity, uidnext, highestmodseq, recent_uid
		FROM mail_folder WHERE username=?`, a.Username)
	if err != nil {
		return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
	}
	defer rows.Close()
	var out []FolderInfo
	for rows.Next() {
		var fi FolderInfo
		var sub int64
		if err := rows.Scan(&fi.Name, &fi.SpecialUse, &sub, &fi.UIDValidity, &fi.UIDNext, &fi.HighestModSeq, &fi.RecentUID); err != nil {
			return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
		}
		fi.Subscribed = sub != 0
		out = append(out, fi)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list folders of %s: %w", a.Username, err)
	}
	sortFolders(out)
	return out, nil
}

// Folder returns the state of one folder, or an error wrapping ErrNoFolder.
func (s *Store) Folder(ctx context.Context, a Account, name string) (FolderInfo, error) {
	name, err := canonName(name)
	if err != nil {
		return FolderInfo{}, err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return FolderInfo{}, err
	}
	id, fi, err := folderInfo(ctx, s.db.Read, a.Username, name)
	if err == nil && a.private() {
		fi.Unseen, err = pvtUnseen(ctx, s.db.Read, id, a.Viewer, fi.Messages)
	}
	return fi, err
}

// FolderExists returns nil when the folder exists, or an error wrapping
// ErrNoFolder (or ErrBadName): Folder without counting its messages.
func (s *Store) FolderExists(ctx context.Context, a Account, name string) error {
	name, err := canonName(name)
	if err != nil {
		return err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return err
	}
	_, err = folderID(ctx, s.db.Read, a.Username, name)
	return err
}

// FolderState returns a folder's row without its counts: UIDVALIDITY,
// UIDNEXT, HIGHESTMODSEQ, the \Recent mark, name, special use and
// subscription (Messages, Unseen... are zero; Folder has them). It reads
// one row, however large the folder.
func (s *Store) FolderState(ctx context.Context, a Account, name string) (FolderInfo, error) {
	name, err := canonName(name)
	if err != nil {
		return FolderInfo{}, err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return FolderInfo{}, err
	}
	var fi FolderInfo
	if _, err := folderRow(ctx, s.db.Read, a.Username, name, &fi); err != nil {
		return FolderInfo{}, fmt.Errorf("store: folder %q of %s: %w", name, a.Username, err)
	}
	return fi, nil
}

// folderInfo reads one folder with its counts through q.
func folderInfo(ctx context.Context, q querier, username, name string) (int64, FolderInfo, error) {
	id, fi, err := scanFolder(q.QueryRowContext(ctx, folderQuery+` AND f.name = ?`+folderGroup,
		flagPattern(`\Seen`), flagPattern(`\Deleted`), username, name))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fi, fmt.Errorf("store: folder %q of %s: %w", name, username, ErrNoFolder)
	}
	if err != nil {
		return 0, fi, fmt.Errorf("store: folder %q of %s: %w", name, username, err)
	}
	return id, fi, nil
}

// folderID returns the id of a folder or an error wrapping ErrNoFolder.
func folderID(ctx context.Context, q querier, username, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM mail_folder WHERE username=? AND name=?`, username, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: folder %q of %s: %w", name, username, ErrNoFolder)
	}
	if err != nil {
		return 0, fmt.Errorf("store: folder %q of %s: %w", name, username, err)
	}
	return id, nil
}

// folderNames returns the names of all folders of username.
func folderNames(ctx context.Context, q querier, username string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM mail_folder WHERE username=?`, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// allocUIDValidity hands out a UIDVALIDITY for a new folder of username:
// the current time, but always above every value handed out before, so a
// folder deleted and created again never repeats one (RFC 9051 2.3.1.1).
func allocUIDValidity(ctx context.Context, tx *sql.Tx, username string) (int64, error) {
	now := time.Now().Unix()
	var top sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(uidvalidity) FROM mail_folder WHERE username=?`, username).Scan(&top); err != nil {
		return 0, err
	}
	if top.Valid && top.Int64 >= now {
		now = top.Int64 + 1
	}
	var uv int64
	err := tx.QueryRowContext(ctx, `INSERT INTO mail_user(username, uidvalidity) VALUES (?, ?)
		ON CONFLICT(username) DO UPDATE SET uidvalidity = CASE WHEN mail_user.uidvalidity >= excluded.uidvalidity
			THEN mail_user.uidvalidity + 1 ELSE excluded.uidvalidity END
		RETURNING uidvalidity`, username, now).Scan(&uv)
	return uv, err
}

// makeFolderDir creates the Maildir++ directory of a folder.
func (s *Store) makeFolderDir(root, name string) error {
	dir := folderDir(root, name)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	if name != "INBOX" {
		mf := filepath.Join(dir, "maildirfolder")
		if _, err := os.Stat(mf); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(mf, nil, 0o600); err != nil {
				return err
			}
		}
	}
	if s.fsync {
		return fsyncDir(root)
	}
	return nil
}

// CreateFolder creates a folder (not subscribed) with a new UIDVALIDITY.
// Its parents need not exist (RFC 9051 6.3.4 lets the server create
// them; Maildir++ does not need them). specialUse is "" or an RFC 6154
// attribute such as `\Archive`.
func (s *Store) CreateFolder(ctx context.Context, a Account, name, specialUse string) error {
	name, err := canonName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return fmt.Errorf("store: create INBOX: %w", ErrFolderExists)
	}
	use := ""
	if specialUse != "" {
		if use = specialUses[strings.ToLower(specialUse)]; use == "" {
			return fmt.Errorf("store: create %q: %s: %w", name, specialUse, ErrBadSpecialUse)
		}
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return err
	}
	defer s.locks.tree(a.Username)()
	if err := s.createFolder(ctx, a, name, use, false); err != nil {
		return err
	}
	s.publish(Event{Username: a.Username, Folder: name, Kind: EventFolders})
	return nil
}

// createFolder makes the directory and the index row of a folder.
func (s *Store) createFolder(ctx context.Context, a Account, name, use string, subscribed bool) error {
	if _, err := folderID(ctx, s.db.Read, a.Username, name); err == nil {
		return fmt.Errorf("store: create %q: %w", name, ErrFolderExists)
	}
	if err := s.makeFolderDir(s.MailboxPath(a.Maildir), name); err != nil {
		return fmt.Errorf("store: create %q of %s: %w", name, a.Username, err)
	}
	sub := 0
	if subscribed {
		sub = 1
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := folderID(ctx, tx, a.Username, name); err == nil {
			return fmt.Errorf("store: create %q: %w", name, ErrFolderExists)
		}
		kept, err := takeSubscription(ctx, tx, a.Username, name)
		if err != nil {
			return err
		}
		if kept {
			sub = 1
		}
		uv, err := allocUIDValidity(ctx, tx, a.Username)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mail_folder(username, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)
			VALUES (?,?,?,1,1,?,?)`, a.Username, name, uv, use, sub)
		if err != nil {
			return err
		}
		if err := inheritACL(ctx, tx, a.Username, name); err != nil {
			return err
		}
		return s.noteChange(ctx, tx, a.Username, name, EventFolders, 0)
	})
	if err != nil && !errors.Is(err, ErrFolderExists) {
		return fmt.Errorf("store: create %q of %s: %w", name, a.Username, err)
	}
	return err
}

// SetSubscribed subscribes to an existing folder, or unsubscribes from a
// folder or from the kept subscription of a deleted one.
func (s *Store) SetSubscribed(ctx context.Context, a Account, name string, on bool) error {
	name, err := canonName(name)
	if err != nil {
		return err
	}
	v := 0
	if on {
		v = 1
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mail_folder SET subscribed=? WHERE username=? AND name=?`, v, a.Username, name)
		if err != nil {
			return fmt.Errorf("store: subscribe %q of %s: %w", name, a.Username, err)
		}
		if n, _ := res.RowsAffected(); n == 0 && !on {
			// The subscription of a deleted folder.
			if kept, err := takeSubscription(ctx, tx, a.Username, name); err != nil {
				return err
			} else if kept {
				return s.noteChange(ctx, tx, a.Username, name, EventSubscription, 0)
			}
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: subscribe %q of %s: %w", name, a.Username, ErrNoFolder)
		}
		return s.noteChange(ctx, tx, a.Username, name, EventSubscription, 0)
	})
	if err == nil {
		s.publish(Event{Username: a.Username, Folder: name, Kind: EventSubscription})
	}
	return err
}
