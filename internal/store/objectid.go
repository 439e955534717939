package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
)

// Object identifiers (RFC 8474). A folder's MAILBOXID and a message's
// EMAILID are random: 120 bits from crypto/rand in base64url after a
// one-letter prefix ("F" folders, "M" messages), 21 characters of the
// objectid alphabet (RFC 8474 7: ALPHA / DIGIT / "_" / "-"). Random ids
// say nothing of the account, the folder or the content (RFC 8474 8) and
// are never handed out twice. They are stored (mail_folder.objectid,
// mail_message.emailid) so they survive restarts and other nodes see the
// same. A folder keeps its id through RENAME; DELETE drops it with the
// row, so a folder created again under the same name gets a new one.
// New messages get theirs when stored; COPY and MOVE carry the source's
// (RFC 8474 5.1: the copy shares the file's content, hard-linked). Rows
// made before the columns existed, or by a path that does not set them,
// are given one the first time they are asked for.

// newObjectID returns a fresh objectid with the given prefix.
func newObjectID(prefix string) string {
	var b [15]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// MailboxID returns the MAILBOXID of a folder (RFC 8474 4), giving the
// folder one if it has none yet. An unknown folder is an error wrapping
// ErrNoFolder.
func (s *Store) MailboxID(ctx context.Context, a Account, folder string) (string, error) {
	folder, err := canonName(folder)
	if err != nil {
		return "", err
	}
	var id int64
	var oid sql.NullString
	err = s.db.Read.QueryRowContext(ctx, `SELECT id, objectid FROM mail_folder WHERE username=? AND name=?`, a.Username, folder).Scan(&id, &oid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: folder %q of %s: %w", folder, a.Username, ErrNoFolder)
	}
	if err != nil {
		return "", fmt.Errorf("store: mailbox id of %q of %s: %w", folder, a.Username, err)
	}
	if oid.Valid && oid.String != "" {
		return oid.String, nil
	}
	// Another session may give it one at the same time: only the first
	// UPDATE counts, and both read back the same value.
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mail_folder SET objectid=? WHERE id=? AND objectid IS NULL`, newObjectID("F"), id); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT objectid FROM mail_folder WHERE id=?`, id).Scan(&oid)
	})
	if err != nil {
		return "", fmt.Errorf("store: mailbox id of %q of %s: %w", folder, a.Username, err)
	}
	return oid.String, nil
}

// fillEmailIDs sets Msg.EmailID of msgs (sorted by UID, all of the folder
// folderID) from the index, giving the messages without one theirs. A
// message no longer in the index keeps an empty EmailID.
func (s *Store) fillEmailIDs(ctx context.Context, folderID int64, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	missing, err := readEmailIDs(ctx, s.db.Read, folderID, msgs)
	if err != nil || len(missing) == 0 {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, k := range missing {
			if _, err := tx.ExecContext(ctx, `UPDATE mail_message SET emailid=? WHERE folder_id=? AND uid=? AND emailid IS NULL`,
				newObjectID("M"), folderID, msgs[k].UID); err != nil {
				return err
			}
		}
		_, err := readEmailIDs(ctx, tx, folderID, msgs)
		return err
	})
}

// readEmailIDs reads the EMAILIDs of msgs in one query over their UID
// range and returns the indexes of those in the index without one.
func readEmailIDs(ctx context.Context, q querier, folderID int64, msgs []Msg) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT uid, emailid FROM mail_message WHERE folder_id=? AND uid BETWEEN ? AND ? ORDER BY uid`,
		folderID, msgs[0].UID, msgs[len(msgs)-1].UID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var missing []int
	k := 0
	for rows.Next() {
		var uid int64
		var id sql.NullString
		if err := rows.Scan(&uid, &id); err != nil {
			return nil, err
		}
		for k < len(msgs) && msgs[k].UID < uid {
			k++
		}
		if k == len(msgs) || msgs[k].UID != uid {
			continue
		}
		if id.Valid && id.String != "" {
			msgs[k].EmailID = id.String
		} else {
			missing = append(missing, k)
		}
	}
	return missing, rows.Err()
}

// emailIDsOf fills the EMAILIDs of msgs of a's folder (MessagesWith with
// PartEmailID) and returns those still in the index.
func (s *Store) emailIDsOf(ctx context.Context, a Account, folder string, msgs []Msg) ([]Msg, error) {
	if len(msgs) == 0 {
		return msgs, nil
	}
	id, err := folderID(ctx, s.db.Read, a.Username, folder)
	if errors.Is(err, ErrNoFolder) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.fillEmailIDs(ctx, id, msgs); err != nil {
		return nil, err
	}
	// A message expunged meanwhile has none: it is gone for the caller.
	return slices.DeleteFunc(msgs, func(m Msg) bool { return m.EmailID == "" }), nil
}

// emailIDsOnly is MessagesWith for PartEmailID alone (FETCH EMAILID,
// SEARCH EMAILID): the ids in one query, without the message rows.
func (s *Store) emailIDsOnly(ctx context.Context, a Account, folder string, uids []int64) ([]Msg, error) {
	msgs := make([]Msg, len(uids))
	for i, u := range uids {
		msgs[i].UID = u
	}
	msgs, err := s.emailIDsOf(ctx, a, folder, msgs)
	if err != nil {
		return nil, fmt.Errorf("store: messages of %q of %s: %w", folder, a.Username, err)
	}
	return msgs, nil
}
