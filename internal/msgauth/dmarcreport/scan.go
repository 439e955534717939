package dmarcreport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"mailwarden/internal/sqldb"
)

// Mailbox is the report mailbox's INBOX as the scanner reads it.
type Mailbox interface {
	// UIDs returns the folder's UIDVALIDITY and its messages' UIDs.
	UIDs(ctx context.Context) (validity int64, uids []int64, err error)
	// Open opens the message with that UID.
	Open(ctx context.Context, uid int64) (io.ReadCloser, error)
}

// Scan imports the reports in the messages of mb that arrived since the
// last scan (per user, the highest UID read is kept in SQL; a new
// UIDVALIDITY starts over). A message that holds no report is skipped
// and logged. It returns how many reports were stored.
func Scan(ctx context.Context, db *sqldb.DB, user string, mb Mailbox, log *slog.Logger, now time.Time) (int, error) {
	validity, uids, err := mb.UIDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("dmarc: report mailbox %s: %w", user, err)
	}
	var lastValidity, last int64
	err = db.Read.QueryRowContext(ctx, `SELECT validity, last_uid FROM dmarc_report_scan WHERE username = ?`, user).Scan(&lastValidity, &last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("dmarc: report mailbox %s: %w", user, err)
	}
	if lastValidity != validity {
		last = 0
	}
	stored := 0
	high := last
	for _, uid := range uids {
		if uid <= last {
			continue
		}
		high = max(high, uid)
		rc, err := mb.Open(ctx, uid)
		if err != nil {
			return stored, fmt.Errorf("dmarc: report mailbox %s: message %d: %w", user, uid, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxMessage+1))
		rc.Close()
		if err != nil {
			return stored, fmt.Errorf("dmarc: report mailbox %s: message %d: %w", user, uid, err)
		}
		fs, err := Extract(data)
		if err != nil {
			log.Info(fmt.Sprintf("dmarc: report mailbox %s: message %d: %v", user, uid, err))
			continue
		}
		for _, f := range fs {
			ok, err := Save(ctx, db, f, now)
			if err != nil {
				return stored, err
			}
			if ok {
				stored++
				log.Info(fmt.Sprintf("dmarc: report %s from %s about %s: %d records", f.Metadata.ReportID, f.Metadata.OrgName, f.Policy.Domain, len(f.Records)))
			}
		}
	}
	if high == last && lastValidity == validity {
		return stored, nil
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dmarc_report_scan (username, validity, last_uid) VALUES (?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET validity = excluded.validity, last_uid = excluded.last_uid`, user, validity, high)
		return err
	})
	if err != nil {
		return stored, fmt.Errorf("dmarc: report mailbox %s: %w", user, err)
	}
	return stored, nil
}
