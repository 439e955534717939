package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// servingMarker exists in the store root while a server runs; finding it
// at start means the previous run did not stop cleanly.
const servingMarker = ".serving"

// Account names one mailbox for Recover.
type Account struct{ Username, Maildir string }

// StartServing creates the serving marker (durably) and reports whether it
// was already there, i.e. whether the previous run crashed and Recover
// should run.
func (s *Store) StartServing() (crashed bool, err error) {
	p := filepath.Join(s.root, servingMarker)
	_, err = os.Stat(p)
	switch {
	case err == nil:
		crashed = true
	case !errors.Is(err, os.ErrNotExist):
		return true, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return crashed, fmt.Errorf("store: %w", err)
	}
	f.Close()
	if err := fsyncDir(s.root); err != nil {
		return crashed, fmt.Errorf("store: %w", err)
	}
	return crashed, nil
}

// StopServing removes the serving marker after a clean shutdown.
func (s *Store) StopServing() error {
	if err := os.Remove(filepath.Join(s.root, servingMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// RecoverStats counts what Recover repaired.
type RecoverStats struct {
	Folders, Added, Removed, TmpCleaned int
}

// Recover makes the index agree with the Maildir files after a crash: a
// file in new/ or cur/ with no index row (written, not acknowledged) is
// added; a row whose file is gone is removed; tmp/ files older than 36
// hours (as Dovecot does) are deleted.
func (s *Store) Recover(ctx context.Context, accounts []Account) (RecoverStats, error) {
	var st RecoverStats
	for _, a := range accounts {
		rows, err := s.db.Read.QueryContext(ctx, `SELECT id, name FROM mail_folder WHERE username=?`, a.Username)
		if err != nil {
			return st, fmt.Errorf("store: recover %s: %w", a.Username, err)
		}
		type folder struct {
			id   int64
			name string
		}
		var folders []folder
		for rows.Next() {
			var f folder
			if err := rows.Scan(&f.id, &f.name); err != nil {
				rows.Close()
				return st, err
			}
			folders = append(folders, f)
		}
		rows.Close()
		for _, f := range folders {
			if err := s.recoverFolder(ctx, a, f.id, f.name, &st); err != nil {
				return st, err
			}
			st.Folders++
		}
	}
	return st, nil
}

func (s *Store) recoverFolder(ctx context.Context, a Account, id int64, name string, st *RecoverStats) error {
	dir := folderDir(s.MailboxPath(a.Maildir), name)
	onDisk := map[string]string{} // base name -> path relative to dir
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("store: recover %s: %w", dir, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				onDisk[baseName(e.Name())] = sub + "/" + e.Name()
			}
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 36*time.Hour {
				if os.Remove(filepath.Join(dir, "tmp", e.Name())) == nil {
					st.TmpCleaned++
				}
			}
		}
	}
	indexed := map[string]int64{}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT uid, filename FROM mail_message WHERE folder_id=?`, id)
	if err != nil {
		return fmt.Errorf("store: recover %s: %w", dir, err)
	}
	for rows.Next() {
		var uid int64
		var fn string
		if err := rows.Scan(&uid, &fn); err != nil {
			rows.Close()
			return err
		}
		indexed[baseName(fn)] = uid
	}
	rows.Close()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for base, uid := range indexed {
			if _, ok := onDisk[base]; ok {
				continue
			}
			var size int64
			if err := tx.QueryRowContext(ctx, `DELETE FROM mail_message WHERE folder_id=? AND uid=? RETURNING size`, id, uid).Scan(&size); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mail_folder SET highestmodseq=highestmodseq+1 WHERE id=?`, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE quota2 SET bytes=MAX(bytes-?,0), messages=MAX(messages-1,0) WHERE username=?`, size, a.Username); err != nil {
				return err
			}
			st.Removed++
		}
		for base, rel := range onDisk {
			if _, ok := indexed[base]; ok {
				continue
			}
			info, err := os.Stat(filepath.Join(dir, rel))
			if err != nil {
				continue
			}
			flags := ""
			if i := strings.Index(rel, ":2,"); i >= 0 {
				flags = flagsFromInfo(rel[i+3:])
			}
			if _, _, err := insertMessage(ctx, tx, a.Username, name, rel, info.Size(), info.ModTime().Unix(), flags); err != nil {
				return err
			}
			st.Added++
		}
		return nil
	})
}

// flagsFromInfo maps Maildir info letters to IMAP system flags.
func flagsFromInfo(info string) string {
	var out []string
	for _, c := range info {
		switch c {
		case 'D':
			out = append(out, `\Draft`)
		case 'F':
			out = append(out, `\Flagged`)
		case 'R':
			out = append(out, `\Answered`)
		case 'S':
			out = append(out, `\Seen`)
		case 'T':
			out = append(out, `\Deleted`)
		}
	}
	return strings.Join(out, " ")
}
