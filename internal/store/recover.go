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

// Account names one mailbox: the index key and the Maildir path relative
// to the store root. Viewer, when set to another user, is who reads the
// folders (a shared folder): its \Seen is its own (pvtflags.go).
type Account struct{ Username, Maildir, Viewer string }

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
	Folders, Added, Removed, Renamed, TmpCleaned int
}

// Recover makes the index agree with the Maildir files after a crash:
// folder renames journaled but not done on disk are finished; a file in
// new/ or cur/ with no index row (written, not acknowledged) is added; a
// row whose file is gone is expunged (recorded for QRESYNC); a file found
// under another name than its row's (same base name, a flag rename that
// did not happen) is renamed to the row's; tmp/ files older than 36 hours
// (as Dovecot does) and leftovers of Expunge and DeleteFolder are deleted.
// Folders whose directory is missing altogether are left alone.
func (s *Store) Recover(ctx context.Context, accounts []Account) (RecoverStats, error) {
	var st RecoverStats
	for _, a := range accounts {
		if err := s.finishRenames(ctx, a); err != nil {
			return st, err
		}
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
	if _, err := os.Stat(dir); err != nil {
		s.log.Warn("store: recover: folder directory missing, index left as is", "user", a.Username, "folder", name, "err", err)
		return nil
	}
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
	st.TmpCleaned += cleanTmp(filepath.Join(dir, "tmp"))
	msgs, err := selectUIDs(ctx, s.db.Read, id, nil, true)
	if err != nil {
		return fmt.Errorf("store: recover %s: %w", dir, err)
	}
	indexed := map[string]bool{}
	var missing []Msg
	for _, m := range msgs {
		base := baseName(m.File)
		indexed[base] = true
		rel, ok := onDisk[base]
		switch {
		case !ok:
			missing = append(missing, m)
		case rel != m.File:
			// The index is the source of truth for flags: give the file
			// the name its row has.
			if err := os.Rename(filepath.Join(dir, rel), filepath.Join(dir, m.File)); err != nil {
				return fmt.Errorf("store: recover %s: %w", dir, err)
			}
			st.Renamed++
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := expungeRows(ctx, tx, a.Username, id, missing); err != nil {
			return err
		}
		st.Removed += len(missing)
		for base, rel := range onDisk {
			if indexed[base] {
				continue
			}
			info, err := os.Stat(filepath.Join(dir, rel))
			if err != nil {
				continue
			}
			cache := fileCache(filepath.Join(dir, rel))
			if _, _, _, err := s.insertMessage(ctx, tx, a.Username, name, rel, info.Size(), info.ModTime().Unix(), flagsFromInfo(infoOf(rel)), cache); err != nil {
				return err
			}
			st.Added++
		}
		return nil
	})
}

// cleanTmp deletes what tmp/ holds that no one will finish: files older
// than 36 hours and what Expunge and DeleteFolder left behind. It returns
// how many entries it removed.
func cleanTmp(tmp string) int {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		p := filepath.Join(tmp, e.Name())
		if strings.HasPrefix(e.Name(), "deleted.") && e.IsDir() {
			if os.RemoveAll(p) == nil {
				n++
			}
			continue
		}
		info, err := e.Info()
		if err != nil || e.IsDir() {
			continue
		}
		if strings.HasPrefix(e.Name(), "expunged.") || time.Since(info.ModTime()) > 36*time.Hour {
			if os.Remove(p) == nil {
				n++
			}
		}
	}
	return n
}
