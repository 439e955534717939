package store

import (
	"context"
	"fmt"
	"slices"
)

// MessagesByUID returns the messages of a folder whose UID is in uids,
// sorted by UID; UIDs without a message, and a folder that does not
// exist, give nothing. It is one query over the UID range of uids,
// filtered here, so that a long UID set needs no long SQL. It lets a
// caller that keeps only UIDs and flags read sizes, dates and file
// names for the messages it needs.
func (s *Store) MessagesByUID(ctx context.Context, a Account, folder string, uids []int64) ([]Msg, error) {
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
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message
		WHERE folder_id=(SELECT id FROM mail_folder WHERE username=? AND name=?) AND uid BETWEEN ? AND ? ORDER BY uid`,
		a.Username, folder, uids[0], uids[len(uids)-1])
	if err != nil {
		return nil, fmt.Errorf("store: messages by UID of %q of %s: %w", folder, a.Username, err)
	}
	ms, err := scanMsgs(rows)
	if err != nil {
		return nil, fmt.Errorf("store: messages by UID of %q of %s: %w", folder, a.Username, err)
	}
	// Both lists are sorted: keep the rows whose UID is wanted.
	out, k := ms[:0], 0
	for _, m := range ms {
		for k < len(uids) && uids[k] < m.UID {
			k++
		}
		if k < len(uids) && uids[k] == m.UID {
			out = append(out, m)
		}
	}
	clear(ms[len(out):])
	return out, nil
}
