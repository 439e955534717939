package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Parts says what MessagesWith reads of each message besides its UID.
type Parts int

const (
	PartSize Parts = 1 << iota // Msg.Size
	PartDate                   // Msg.InternalDate
	PartFile                   // Msg.File, with the size and internal date
	// PartEnvelope and PartFields are those of the header cache (Msg.Cache).
	PartEnvelope
	PartFields
	PartSaveDate // Msg.SaveDate (RFC 8514)
	PartEmailID  // Msg.EmailID (RFC 8474), given to messages without one

	partCache = PartEnvelope | PartFields
)

// MessagesWith returns the messages of a folder whose UID is in uids,
// sorted by UID, with the parts asked for; it serves IMAP sessions, which
// keep flags and MODSEQs in their view, so these are not read.
//
// With a header cache part, Msg.Cache is nil when the index has no cache
// for the message (or one of another version) and not Valid when the
// message cannot be cached; such messages also get their file, which the
// caller needs. The cache row repeats the size and internal date (both
// never change), so that SEARCH SINCE ... SUBJECT ... or FETCH
// (RFC822.SIZE ENVELOPE) of messages that all have a cache is one query
// over the cache alone, of the columns asked for (each costs); message
// rows are read, in one more query over the UID range, only for
// PartFile, for messages without a valid cache, or when no cache part is
// asked for.
func (s *Store) MessagesWith(ctx context.Context, a Account, folder string, uids []int64, parts Parts) ([]Msg, error) {
	folder, err := canonName(folder)
	if err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	if !slices.IsSorted(uids) {
		uids = slices.Sorted(slices.Values(uids))
	}
	if parts == PartEmailID {
		return s.emailIDsOnly(ctx, a, folder, uids)
	}
	var out []Msg
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		id, err := folderID(ctx, tx, a.Username, folder)
		if errors.Is(err, ErrNoFolder) {
			return nil
		}
		if err != nil {
			return err
		}
		if parts&partCache == 0 {
			if out, err = readMeta(ctx, tx, id, uids); err != nil || parts&PartSaveDate == 0 {
				return err
			}
			return readSaveDates(ctx, tx, id, out)
		}
		cached, err := readCaches(ctx, tx, id, uids, parts)
		if err != nil {
			return err
		}
		var files []Msg
		if parts&PartFile != 0 {
			files, err = readMeta(ctx, tx, id, uids)
		} else if rest := withoutCache(uids, cached); len(rest) > 0 {
			files, err = readMeta(ctx, tx, id, rest)
		}
		if err != nil {
			return err
		}
		out = mergeRows(files, cached)
		if parts&PartSaveDate != 0 {
			return readSaveDates(ctx, tx, id, out)
		}
		return nil
	})
	if err == nil && parts&PartEmailID != 0 {
		out, err = s.emailIDsOf(ctx, a, folder, out)
	}
	if err != nil {
		return nil, fmt.Errorf("store: messages of %q of %s: %w", folder, a.Username, err)
	}
	return out, nil
}

// withoutCache returns the UIDs of uids without a valid cache in cached
// (both sorted).
func withoutCache(uids []int64, cached []Msg) []int64 {
	var rest []int64
	j := 0
	for _, u := range uids {
		for j < len(cached) && cached[j].UID < u {
			j++
		}
		if j == len(cached) || cached[j].UID != u || !cached[j].Cache.Valid {
			rest = append(rest, u)
		}
	}
	return rest
}

// readMeta reads the UID, size, internal date and file of the messages
// uids, sorted, of a folder.
func readMeta(ctx context.Context, tx *sql.Tx, folderID int64, uids []int64) ([]Msg, error) {
	rows, err := tx.QueryContext(ctx, `SELECT uid, size, internal_date, filename FROM mail_message
		WHERE folder_id=? AND uid BETWEEN ? AND ? ORDER BY uid`, folderID, uids[0], uids[len(uids)-1])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Msg, 0, min(len(uids), int(uids[len(uids)-1]-uids[0]+1)))
	k := 0
	for rows.Next() {
		var m Msg
		var date int64
		if err := rows.Scan(&m.UID, &m.Size, &date, &m.File); err != nil {
			return nil, err
		}
		for k < len(uids) && uids[k] < m.UID {
			k++
		}
		if k == len(uids) || uids[k] != m.UID {
			continue
		}
		m.InternalDate = time.Unix(date, 0)
		out = append(out, m)
	}
	return out, rows.Err()
}

// mergeRows adds files, message rows, to cached, messages read from the
// cache, both sorted by UID: a message in both gets its file; one in
// files only (no cache) is added. A message with a cache row exists: the
// row goes with the message.
func mergeRows(files, cached []Msg) []Msg {
	if len(files) == 0 {
		return cached
	}
	out := make([]Msg, 0, max(len(files), len(cached)))
	i, j := 0, 0
	for i < len(files) || j < len(cached) {
		switch {
		case j == len(cached) || (i < len(files) && files[i].UID < cached[j].UID):
			out = append(out, files[i])
			i++
		case i == len(files) || cached[j].UID < files[i].UID:
			out = append(out, cached[j])
			j++
		default:
			m := files[i]
			m.Cache = cached[j].Cache
			out = append(out, m)
			i++
			j++
		}
	}
	return out
}

// readSaveDates sets the SaveDate of msgs (sorted by UID, all of one
// folder), in one query over their UID range.
func readSaveDates(ctx context.Context, tx *sql.Tx, folderID int64, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT uid, save_date FROM mail_message
		WHERE folder_id=? AND uid BETWEEN ? AND ? AND save_date IS NOT NULL ORDER BY uid`, folderID, msgs[0].UID, msgs[len(msgs)-1].UID)
	if err != nil {
		return err
	}
	defer rows.Close()
	k := 0
	for rows.Next() {
		var uid, date int64
		if err := rows.Scan(&uid, &date); err != nil {
			return err
		}
		for k < len(msgs) && msgs[k].UID < uid {
			k++
		}
		if k < len(msgs) && msgs[k].UID == uid {
			msgs[k].SaveDate = time.Unix(date, 0)
		}
	}
	return rows.Err()
}
