package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
)

// Per-user \Seen in shared folders, as Dovecot keeps private flags for
// shared and public namespaces (INDEXPVT): when Account.Viewer names a
// user other than the owner, that user's \Seen on the folder's messages
// is its own (table mail_pvt_seen) and the owner's \Seen (in
// mail_message.flags and the Maildir file's "S") is neither shown to
// nor changed by it. Every other flag stays shared. A viewer's change of
// \Seen takes a MODSEQ from the folder's counter, recorded with the row,
// so that the viewer's MODSEQ of a message is the higher of the
// message's and its own row's (RFC 7162 3.1: CONDSTORE and QRESYNC
// clients of that user see the change; others see none).

// seenFlag is the one private flag.
const seenFlag = `\Seen`

// private reports whether a reads its folders with its own \Seen: a
// folder of another owner read by Viewer.
func (a Account) private() bool { return a.Viewer != "" && a.Viewer != a.Username }

// pvtRow is a viewer's \Seen of one message.
type pvtRow struct {
	seen   bool
	modseq int64
}

// pvtRows reads viewer's rows of a folder for the UIDs lo..hi.
func pvtRows(ctx context.Context, q querier, folderID int64, viewer string, lo, hi int64) (map[int64]pvtRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT uid, seen, modseq FROM mail_pvt_seen
		WHERE folder_id=? AND username=? AND uid BETWEEN ? AND ?`, folderID, viewer, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]pvtRow{}
	for rows.Next() {
		var uid, seen, modseq int64
		if err := rows.Scan(&uid, &seen, &modseq); err != nil {
			return nil, err
		}
		out[uid] = pvtRow{seen: seen != 0, modseq: modseq}
	}
	return out, rows.Err()
}

// withSeen returns flags (sorted, normalised) with \Seen set or cleared;
// flags itself is not modified.
func withSeen(flags []string, seen bool) []string {
	if hasFlag(flags, seenFlag) == seen {
		return flags
	}
	if !seen {
		return slices.DeleteFunc(slices.Clone(flags), func(f string) bool { return f == seenFlag })
	}
	out := append(slices.Clone(flags), seenFlag)
	sort.Strings(out)
	return out
}

// overlayPvt turns the owner's view of msgs (sorted by UID) into what
// viewer sees: its own \Seen and, where its row is newer, its row's
// MODSEQ. Messages with the same resulting flags share one slice (as
// View's do).
func overlayPvt(ctx context.Context, q querier, folderID int64, viewer string, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	rows, err := pvtRows(ctx, q, folderID, viewer, msgs[0].UID, msgs[len(msgs)-1].UID)
	if err != nil {
		return fmt.Errorf("private flags of %s: %w", viewer, err)
	}
	// View's messages share their flag slices: the result is shared per
	// (slice, seen), without building a key string per message.
	type setKey struct {
		first *string
		n     int
		seen  bool
	}
	sets := map[setKey][]string{}
	for i := range msgs {
		m := &msgs[i]
		r := rows[m.UID]
		k := setKey{n: len(m.Flags), seen: r.seen}
		if k.n > 0 {
			k.first = &m.Flags[0]
		}
		fl, ok := sets[k]
		if !ok {
			fl = withSeen(m.Flags, r.seen)
			sets[k] = fl
		}
		m.Flags = fl
		m.ModSeq = max(m.ModSeq, r.modseq)
	}
	return nil
}

// pvtUnseen is the number of messages of a folder viewer has not seen.
func pvtUnseen(ctx context.Context, q querier, folderID int64, viewer string, messages int64) (int64, error) {
	var seen int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_pvt_seen WHERE folder_id=? AND username=? AND seen=1`,
		folderID, viewer).Scan(&seen)
	if err != nil {
		return 0, fmt.Errorf("private flags of %s: %w", viewer, err)
	}
	return max(messages-seen, 0), nil
}

// pvtUnseenAll sets the Unseen counts of the folders of a (ids parallel
// to fs) to its viewer's.
func pvtUnseenAll(ctx context.Context, q querier, a Account, ids []int64, fs []FolderInfo) error {
	rows, err := q.QueryContext(ctx, `SELECT p.folder_id, COUNT(*) FROM mail_pvt_seen p
		JOIN mail_folder f ON f.id = p.folder_id AND f.username = ?
		WHERE p.username=? AND p.seen=1 GROUP BY p.folder_id`, a.Username, a.Viewer)
	if err != nil {
		return fmt.Errorf("private flags of %s: %w", a.Viewer, err)
	}
	defer rows.Close()
	seen := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("private flags of %s: %w", a.Viewer, err)
		}
		seen[id] = n
	}
	for i := range fs {
		fs[i].Unseen = max(fs[i].Messages-seen[ids[i]], 0)
	}
	return rows.Err()
}

// changedQuery selects the messages of a folder changed after a MODSEQ:
// for a viewer, also those whose \Seen it changed after it.
func changedQuery(ctx context.Context, q querier, a Account, folderID, since int64) (*sql.Rows, error) {
	if !a.private() {
		return q.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message WHERE folder_id=? AND modseq>? ORDER BY uid`, folderID, since)
	}
	return q.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message WHERE folder_id=? AND (modseq>? OR uid IN
		(SELECT uid FROM mail_pvt_seen WHERE folder_id=? AND username=? AND modseq>?)) ORDER BY uid`,
		folderID, since, folderID, a.Viewer, since)
}

// setPvtSeen records viewer's \Seen of a message with a MODSEQ.
func setPvtSeen(ctx context.Context, tx *sql.Tx, folderID, uid int64, viewer string, seen bool, modseq int64) error {
	v := 0
	if seen {
		v = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_pvt_seen(folder_id, uid, username, seen, modseq) VALUES (?,?,?,?,?)
		ON CONFLICT(folder_id, uid, username) DO UPDATE SET seen=excluded.seen, modseq=excluded.modseq`,
		folderID, uid, viewer, v, modseq)
	return err
}

// splitSeen takes \Seen out of the flags of a new message in a's folder
// when a's \Seen is private: the message is stored without it and the
// viewer's row records it (markNew).
func (a Account) splitSeen(flags []string) ([]string, bool) {
	if !a.private() || !hasFlag(flags, seenFlag) {
		return flags, false
	}
	return withSeen(flags, false), true
}

// markNew records a new message (folder, uid, modseq) as seen by a's
// viewer.
func markNew(ctx context.Context, tx *sql.Tx, a Account, folder string, uid, modseq int64) error {
	id, err := folderID(ctx, tx, a.Username, folder)
	if err != nil {
		return err
	}
	return setPvtSeen(ctx, tx, id, uid, a.Viewer, true, modseq)
}

// storeFlagsPvt is StoreFlagsMay for a viewer with private \Seen: the
// viewer's \Seen goes to its rows, the other flags to the message (and
// its file), the owner's \Seen is left alone. Each changed message gets
// one new MODSEQ, on its row, its message or both.
func (s *Store) storeFlagsPvt(ctx context.Context, a Account, folder string, uids []int64, op FlagOp, flags []string, unchangedSince int64, may func(string) bool) (updated []Msg, failed []int64, err error) {
	defer s.locks.folder(a.Username, folder)()
	type change struct {
		i            int      // index into updated
		shared       []string // the message's new flags; nil: unchanged
		seen, pvtSet bool     // the viewer's new \Seen, and whether it changed
	}
	type rename struct{ from, to string }
	var renames []rename
	var changed []int64
	var top int64
	// Committed lazily, as the owner's flag changes are (StoreFlagsMay).
	err = s.db.BatchLazy(ctx, func(tx *sql.Tx) error {
		updated, failed, renames, changed = nil, nil, nil, nil
		id, err := folderID(ctx, tx, a.Username, folder)
		if err != nil {
			return err
		}
		msgs, err := selectUIDs(ctx, tx, id, uids, false)
		if err != nil || len(msgs) == 0 {
			return err
		}
		rows, err := pvtRows(ctx, tx, id, a.Viewer, msgs[0].UID, msgs[len(msgs)-1].UID)
		if err != nil {
			return err
		}
		var todo []change
		for _, m := range msgs {
			r := rows[m.UID]
			ownerSeen := hasFlag(m.Flags, seenFlag)
			eff := m
			eff.Flags, eff.ModSeq = withSeen(m.Flags, r.seen), max(m.ModSeq, r.modseq)
			if unchangedSince > 0 && eff.ModSeq > unchangedSince {
				failed = append(failed, m.UID)
				continue
			}
			nf := applyFlags(eff.Flags, op, flags)
			if may != nil {
				nf = onlyAllowed(eff.Flags, nf, may)
			}
			if sameFlags(nf, eff.Flags) {
				updated = append(updated, eff)
				continue
			}
			c := change{i: len(updated), seen: hasFlag(nf, seenFlag)}
			c.pvtSet = c.seen != r.seen
			if shared := withSeen(nf, ownerSeen); !sameFlags(shared, m.Flags) {
				c.shared = shared
				if to := fileFor(baseName(m.File), shared, true); to != m.File {
					renames = append(renames, rename{m.File, to})
					eff.File = to
				}
			}
			eff.Flags = nf
			todo = append(todo, c)
			updated = append(updated, eff)
		}
		if len(todo) == 0 {
			return nil
		}
		first, err := bumpModSeq(ctx, tx, id, len(todo))
		if err != nil {
			return err
		}
		for k, c := range todo {
			m := &updated[c.i]
			m.ModSeq = first + int64(k)
			if c.shared != nil {
				if _, err := tx.ExecContext(ctx, `UPDATE mail_message SET flags=?, modseq=?, filename=? WHERE folder_id=? AND uid=?`,
					joinFlags(c.shared), m.ModSeq, m.File, id, m.UID); err != nil {
					return err
				}
			}
			if c.pvtSet {
				if err := setPvtSeen(ctx, tx, id, m.UID, a.Viewer, c.seen, m.ModSeq); err != nil {
					return err
				}
			}
			changed = append(changed, m.UID)
			top = m.ModSeq
		}
		return s.noteChange(ctx, tx, a.Username, folder, EventFlags, top)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: store flags in %q of %s for %s: %w", folder, a.Username, a.Viewer, err)
	}
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	for _, r := range renames {
		s.renameFile(dir, r.from, r.to)
	}
	if len(changed) > 0 {
		s.publish(Event{Username: a.Username, Folder: folder, Kind: EventFlags, UIDs: changed, ModSeq: top})
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i] < failed[j] })
	return updated, failed, nil
}

// viewPvt overlays viewer's \Seen on View's messages and counts its
// unseen ones.
func viewPvt(ctx context.Context, q querier, folderID int64, viewer string, msgs []Msg, fi *FolderInfo) error {
	if err := overlayPvt(ctx, q, folderID, viewer, msgs); err != nil {
		return err
	}
	fi.Unseen = 0
	for _, m := range msgs {
		if !hasFlag(m.Flags, seenFlag) {
			fi.Unseen++
		}
	}
	return nil
}
