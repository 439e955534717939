package main

import (
	"context"
	"io"

	"mailwarden/internal/pop3server"
	"mailwarden/internal/store"
)

// pop3Store shows the store's INBOX to the POP3 server.
type pop3Store struct{ st *store.Store }

func acct(username, maildir string) store.Account {
	return store.Account{Username: username, Maildir: maildir}
}

func (p pop3Store) Inbox(ctx context.Context, username, maildir string) ([]pop3server.Msg, int64, error) {
	ms, info, err := p.st.Messages(ctx, acct(username, maildir), "INBOX")
	if err != nil {
		return nil, 0, err
	}
	out := make([]pop3server.Msg, len(ms))
	for i, m := range ms {
		out[i] = pop3server.Msg{UID: m.UID, Size: m.Size, File: m.File}
	}
	return out, info.UIDValidity, nil
}

func (p pop3Store) Open(_ context.Context, username, maildir string, m pop3server.Msg) (io.ReadCloser, error) {
	return p.st.OpenMessage(acct(username, maildir), "INBOX", store.Msg{UID: m.UID, Size: m.Size, File: m.File})
}

func (p pop3Store) Expunge(ctx context.Context, username, maildir string, uids []int64) error {
	_, err := p.st.Expunge(ctx, acct(username, maildir), "INBOX", uids)
	return err
}

func (p pop3Store) MarkSeen(ctx context.Context, username, maildir string, uids []int64) error {
	_, _, err := p.st.StoreFlags(ctx, acct(username, maildir), "INBOX", uids, store.FlagsAdd, []string{`\Seen`}, 0)
	return err
}
