package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// errClaimRace: another session moved recent_uid between read and write.
var errClaimRace = errors.New("recent claimed concurrently")

// ClaimRecent gives the caller the \Recent flag (RFC 3501 2.3.2) of the
// folder's messages with UIDs below upto that no session has claimed: it
// returns first, and the caller holds the UIDs in [first, upto) as recent
// (none when first >= upto). Every message is recent in one session only,
// across all processes and nodes sharing the database: the claim is a
// compare-and-set on mail_folder.recent_uid. When nothing is left to claim
// it only reads.
func (s *Store) ClaimRecent(ctx context.Context, a Account, folder string, upto int64) (int64, error) {
	folder, err := canonName(folder)
	if err != nil {
		return 0, err
	}
	read := func(q querier) (int64, error) {
		var cur int64
		err := q.QueryRowContext(ctx, `SELECT recent_uid FROM mail_folder WHERE username=? AND name=?`, a.Username, folder).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNoFolder
		}
		return cur, err
	}
	for range 8 {
		cur, err := read(s.db.Read)
		if err != nil {
			return 0, fmt.Errorf("store: recent of %q of %s: %w", folder, a.Username, err)
		}
		if cur >= upto {
			return upto, nil
		}
		// \Recent is session state: a claim lost in a crash only makes
		// the messages recent once more, so it is committed lazily.
		err = s.db.BatchLazy(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE mail_folder SET recent_uid=? WHERE username=? AND name=? AND recent_uid=?`,
				upto, a.Username, folder, cur)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return errClaimRace
			}
			return nil
		})
		if errors.Is(err, errClaimRace) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: claim recent of %q of %s: %w", folder, a.Username, err)
		}
		return cur, nil
	}
	// Others keep claiming: leave them the messages, none is lost.
	return upto, nil
}

// Subscriptions returns the subscribed names that have no folder: folders
// deleted while subscribed (RFC 3501 6.3.4 keeps their subscription).
// Subscriptions of existing folders are FolderInfo.Subscribed.
func (s *Store) Subscriptions(ctx context.Context, a Account) ([]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT name FROM mail_subscription WHERE username=? ORDER BY name`, a.Username)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions of %s: %w", a.Username, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: subscriptions of %s: %w", a.Username, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: subscriptions of %s: %w", a.Username, err)
	}
	return out, nil
}

// keepSubscription moves the subscription of a folder being deleted to
// mail_subscription.
func keepSubscription(ctx context.Context, tx *sql.Tx, username, name string, folderID int64) error {
	var sub int64
	if err := tx.QueryRowContext(ctx, `SELECT subscribed FROM mail_folder WHERE id=?`, folderID).Scan(&sub); err != nil {
		return err
	}
	if sub == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mail_subscription WHERE username=? AND name=?`, username, name); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_subscription(username, name) VALUES (?,?)`, username, name)
	return err
}

// takeSubscription removes a kept subscription of name and reports
// whether there was one: a folder created under that name is subscribed.
func takeSubscription(ctx context.Context, tx *sql.Tx, username, name string) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM mail_subscription WHERE username=? AND name=?`, username, name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// maxSubscriptionName bounds a subscribed name outside the mailbox's own
// folders (the column is VARCHAR(255)).
const maxSubscriptionName = 255

// SubscribeName subscribes a's user to, or unsubscribes it from, a name
// that is not one of its own folders: another mailbox's folder under the
// name IMAP shows it by ("Other Users/bob@example.org/Work"). The caller
// checks that the name exists and is visible. Such names are listed by
// Subscriptions with those of deleted folders.
func (s *Store) SubscribeName(ctx context.Context, a Account, name string, on bool) error {
	if name == "" || len(name) > maxSubscriptionName {
		return fmt.Errorf("store: subscribe %q: %w", name, ErrBadName)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_subscription WHERE username=? AND name=?`, a.Username, name); err != nil {
			return err
		}
		if on {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_subscription(username, name) VALUES (?,?)`, a.Username, name); err != nil {
				return err
			}
		}
		return s.noteChange(ctx, tx, a.Username, name, EventSubscription, 0)
	})
	if err != nil {
		return fmt.Errorf("store: subscribe %q of %s: %w", name, a.Username, err)
	}
	s.publish(Event{Username: a.Username, Folder: name, Kind: EventSubscription})
	return nil
}
