package queue

import (
	"context"
	"errors"

	"mailwarden/internal/directory"
	"mailwarden/internal/store"
)

// StoreLocal connects the runner to this server's mailboxes: Deliver is a
// LocalFunc and Route a RouteFunc.
type StoreLocal struct {
	Dir   *directory.Directory
	Store *store.Store
	// Delims returns recipient_delimiter; nil means "+".
	Delims func() string
}

func (s StoreLocal) delims() string {
	if s.Delims == nil {
		return "+"
	}
	return s.Delims()
}

// Deliver writes one copy into every local mailbox rcpt resolves to
// (aliases and extensions included). A mailbox still full fails the whole
// copy, to be retried.
func (s StoreLocal) Deliver(ctx context.Context, from, rcpt string, body Body) error {
	res, err := s.Dir.Resolve(ctx, rcpt, s.delims())
	if errors.Is(err, directory.ErrUnknownUser) {
		return &LocalError{Code: 550, Enhanced: "5.1.1", Err: errors.New("unknown user: " + rcpt)}
	}
	if err != nil {
		return err
	}
	var targets []store.Target
	for _, d := range res.Destinations {
		if d.Kind != directory.Local {
			continue
		}
		if err := s.Store.CheckQuota(ctx, d.Mailbox.Username, d.Mailbox.Quota, body.Size()); err != nil {
			return err
		}
		targets = append(targets, store.Target{Username: d.Mailbox.Username, Maildir: d.Mailbox.Maildir,
			Folder: "INBOX", DeliveredTo: d.Address})
	}
	if len(targets) == 0 {
		return &LocalError{Code: 550, Enhanced: "5.1.1", Err: errors.New("no local mailbox for " + rcpt)}
	}
	_, err = s.Store.Deliver(ctx, from, targets, nil, body)
	return err
}

// Route sends a notification to a local mailbox through the store
// (KindLocal) and anything else by SMTP (KindRemote).
func (s StoreLocal) Route(ctx context.Context, addr string) (string, error) {
	res, err := s.Dir.Resolve(ctx, addr, s.delims())
	if errors.Is(err, directory.ErrUnknownUser) {
		return KindLocal, nil // bounces locally: a double bounce, logged
	}
	if err != nil {
		return "", err
	}
	for _, d := range res.Destinations {
		if d.Kind == directory.Local {
			return KindLocal, nil
		}
	}
	return KindRemote, nil
}
