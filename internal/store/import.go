package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"mailwarden/internal/imapmsg"
)

// ImportStats counts what Import did: folders found in the source tree,
// messages copied, and how many of those kept their Dovecot UID.
type ImportStats struct{ Folders, Messages, KeptUIDs int }

// importItem is one source file copied into a folder, not yet indexed.
type importItem struct {
	rel        string // in the target folder
	size, date int64
	flags      []string
	uid        int64  // from dovecot-uidlist, 0 if unknown
	name       string // in the source folder, for ordering
	cache      *imapmsg.Cache
}

// Import copies the Dovecot Maildir++ tree at dir (INBOX at the root,
// folders as ".Name" directories) into a's mailbox. Folders are created as
// needed (special-use guessed from common names); flags come from the file
// names (:2,... with Dovecot's keyword letters resolved through
// dovecot-keywords), the internal date from the file's mtime, and
// subscriptions from dir/subscriptions when present (otherwise created
// folders are subscribed). When a folder has a dovecot-uidlist and the
// target folder is empty, its UIDVALIDITY and UIDs are kept. Files are
// copied durably, bare LF turned into CRLF. Files whose base name is
// already indexed in the folder are skipped, so a second run adds nothing.
func (s *Store) Import(ctx context.Context, a Account, dir string) (ImportStats, error) {
	var st ImportStats
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return st, err
	}
	folders, skipped, err := scanTree(dir)
	if err != nil {
		return st, fmt.Errorf("store: import %s: %w", dir, err)
	}
	for _, n := range skipped {
		s.log.Warn("store: import: folder name not usable, skipped", "dir", filepath.Join(dir, n))
	}
	subs, hasSubs := readSubscriptions(filepath.Join(dir, "subscriptions"))
	for _, f := range folders {
		created, err := s.importCreate(ctx, a, f.name, !hasSubs)
		if err != nil {
			return st, err
		}
		if hasSubs && f.name != "INBOX" { // Dovecot does not list INBOX
			if err := s.SetSubscribed(ctx, a, f.name, subs[f.name]); err != nil {
				return st, err
			}
		}
		if created {
			s.publish(Event{Username: a.Username, Folder: f.name, Kind: EventFolders})
		}
		n, kept, err := s.importFolder(ctx, a, f)
		if err != nil {
			return st, err
		}
		st.Folders++
		st.Messages += n
		st.KeptUIDs += kept
	}
	return st, nil
}

// importCreate creates a folder for Import unless it exists.
func (s *Store) importCreate(ctx context.Context, a Account, name string, subscribe bool) (bool, error) {
	if _, err := folderID(ctx, s.db.Read, a.Username, name); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNoFolder) {
		return false, err
	}
	defer s.locks.tree(a.Username)()
	err := s.createFolder(ctx, a, name, guessSpecialUse(name), subscribe)
	if errors.Is(err, ErrFolderExists) {
		return false, nil
	}
	return err == nil, err
}

// importFolder copies the files of one source folder that the target
// folder does not have yet and indexes them in one transaction.
func (s *Store) importFolder(ctx context.Context, a Account, f sourceFolder) (n, kept int, err error) {
	defer s.locks.folder(a.Username, f.name)()
	id, err := folderID(ctx, s.db.Read, a.Username, f.name)
	if err != nil {
		return 0, 0, err
	}
	have, err := selectUIDs(ctx, s.db.Read, id, nil, true)
	if err != nil {
		return 0, 0, fmt.Errorf("store: import %q: %w", f.name, err)
	}
	indexed := map[string]bool{}
	for _, m := range have {
		indexed[importKey(baseName(m.File))] = true
	}
	list, err := readUIDList(filepath.Join(f.dir, "dovecot-uidlist"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("store: import: unreadable dovecot-uidlist, UIDs not kept", "folder", f.name, "err", err)
	}
	keywords := readKeywords(filepath.Join(f.dir, "dovecot-keywords"))
	dst := folderDir(s.MailboxPath(a.Maildir), f.name)
	var items []importItem
	cleanup := func() {
		for _, it := range items {
			os.Remove(filepath.Join(dst, it.rel))
		}
	}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(f.dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			cleanup()
			return 0, 0, fmt.Errorf("store: import %q: %w", f.name, err)
		}
		for _, e := range ents {
			base := baseName(e.Name())
			if !e.Type().IsRegular() || indexed[importKey(base)] {
				continue
			}
			indexed[importKey(base)] = true
			it, err := s.importFile(f.dir, sub+"/"+e.Name(), dst, keywords)
			if err != nil {
				cleanup()
				return 0, 0, fmt.Errorf("store: import %q: %w", f.name, err)
			}
			it.uid = list.uid(base)
			items = append(items, it)
		}
	}
	if len(items) == 0 && list == nil {
		return 0, 0, nil
	}
	rels := make([]string, len(items))
	for i, it := range items {
		rels[i] = it.rel
	}
	var top int64
	err = s.syncDirs(dst, rels...)
	if err == nil {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if kept, top, err = s.indexImported(ctx, tx, a.Username, f.name, id, list, items); err != nil || len(items) == 0 {
				return err
			}
			return s.noteChange(ctx, tx, a.Username, f.name, EventAdded, top)
		})
	}
	if err != nil {
		cleanup()
		return 0, 0, fmt.Errorf("store: import %q of %s: %w", f.name, a.Username, err)
	}
	if len(items) > 0 {
		uids, _ := s.uidsOf(ctx, id, rels)
		s.publish(Event{Username: a.Username, Folder: f.name, Kind: EventAdded, UIDs: uids, ModSeq: top})
	}
	return len(items), kept, nil
}

// importFile copies one source message durably into dst, named after its
// source (same unique part, sizes of the CRLF copy), with the source's
// mtime.
func (s *Store) importFile(srcDir, rel, dst string, keywords map[rune]string) (importItem, error) {
	p := filepath.Join(srcDir, rel)
	in, err := os.Open(p)
	if err != nil {
		return importItem{}, err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return importItem{}, err
	}
	flags := importFlags(rel, keywords)
	tap := &headerTap{}
	out, size, err := s.writeFile(dst, importKey(baseName(rel)), tap, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64*1024)
		if _, err := io.Copy(&crlfWriter{w: bw}, in); err != nil {
			return err
		}
		return bw.Flush()
	}, flags, info.ModTime())
	if err != nil {
		return importItem{}, fmt.Errorf("copy %s: %w", p, err)
	}
	return importItem{rel: out, size: size, date: info.ModTime().Unix(), flags: flags, name: rel, cache: tap.cache(size)}, nil
}

// indexImported adds the copied items to the index. When the folder is
// empty and the source had a dovecot-uidlist, the folder takes its
// UIDVALIDITY and the items their UIDs (unless that would repeat a UID
// under the folder's current UIDVALIDITY); the rest get new UIDs, in name
// order. It returns how many UIDs were kept and the new HIGHESTMODSEQ.
func (s *Store) indexImported(ctx context.Context, tx *sql.Tx, username, folder string, id int64, list *uidList, items []importItem) (kept int, top int64, err error) {
	var count, validity, uidnext int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_message WHERE folder_id=?`, id).Scan(&count); err != nil {
		return 0, 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT uidvalidity, uidnext FROM mail_folder WHERE id=?`, id).Scan(&validity, &uidnext); err != nil {
		return 0, 0, err
	}
	keep := list != nil && count == 0 && (list.validity != validity || uidnext == 1)
	var withUID, without []importItem
	seen := map[int64]bool{}
	for _, it := range items {
		if keep && it.uid > 0 && !seen[it.uid] {
			seen[it.uid] = true
			withUID = append(withUID, it)
		} else {
			without = append(without, it)
		}
	}
	sort.Slice(withUID, func(i, j int) bool { return withUID[i].uid < withUID[j].uid })
	sort.Slice(without, func(i, j int) bool { return without[i].name < without[j].name })
	if keep {
		next := list.next
		if len(withUID) > 0 {
			next = max(next, withUID[len(withUID)-1].uid+1)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mail_folder SET uidvalidity=?, uidnext=? WHERE id=?`, list.validity, next, id); err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_expunged WHERE folder_id=?`, id); err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_user(username, uidvalidity) VALUES (?, ?)
			ON CONFLICT(username) DO UPDATE SET uidvalidity = CASE WHEN mail_user.uidvalidity < excluded.uidvalidity
				THEN excluded.uidvalidity ELSE mail_user.uidvalidity END`, username, list.validity); err != nil {
			return 0, 0, err
		}
	}
	if len(withUID) > 0 {
		first, err := bumpModSeq(ctx, tx, id, len(withUID))
		if err != nil {
			return 0, 0, err
		}
		var size int64
		for i, it := range withUID {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_message(folder_id, uid, modseq, size, internal_date, flags, filename, save_date)
				VALUES (?,?,?,?,?,?,?,?)`, id, it.uid, first+int64(i), it.size, it.date, joinFlags(it.flags), it.rel, time.Now().Unix()); err != nil {
				return 0, 0, err
			}
			if err := insertCache(ctx, tx, id, it.uid, it.size, it.date, it.cache); err != nil {
				return 0, 0, err
			}
			size += it.size
		}
		if _, err := tx.ExecContext(ctx, `UPDATE quota2 SET bytes=bytes+?, messages=messages+? WHERE username=?`, size, len(withUID), username); err != nil {
			return 0, 0, err
		}
		top = first + int64(len(withUID)) - 1
	}
	for _, it := range without {
		if _, top, _, err = s.insertMessage(ctx, tx, username, folder, it.rel, it.size, it.date, joinFlags(it.flags), it.cache); err != nil {
			return 0, 0, err
		}
	}
	return len(withUID), top, nil
}

// uidsOf returns the UIDs of the messages with the given file names.
func (s *Store) uidsOf(ctx context.Context, folderID int64, rels []string) ([]int64, error) {
	want := map[string]bool{}
	for _, r := range rels {
		want[r] = true
	}
	msgs, err := selectUIDs(ctx, s.db.Read, folderID, nil, true)
	var out []int64
	for _, m := range msgs {
		if want[m.File] {
			out = append(out, m.UID)
		}
	}
	return out, err
}
