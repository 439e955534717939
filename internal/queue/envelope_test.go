package queue

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"mailwarden/internal/envelope"
)

// TestEnvelopeColumns: a message queued before the queue kept the
// envelope whole (its envelope column empty) is still read, its envelope
// rebuilt from the other columns; a new one comes back whole.
func TestEnvelopeColumns(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	if _, err := q.db.Write.ExecContext(ctx, `INSERT INTO queue_message(id, sender, size, arrival, client, auth_user, envid, ret, held, next_attempt, body8, smtputf8)
		VALUES ('OLD1','a@b.test',10,1700000000,'host.b.test[192.0.2.1]','a@b.test','e1','FULL',0,0,1,0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := q.db.Write.ExecContext(ctx, `INSERT INTO queue_rcpt(queue_id, rcpt, kind) VALUES ('OLD1','x@y.test','remote')`); err != nil {
		t.Fatal(err)
	}
	e, err := q.Entry(ctx, "OLD1")
	if err != nil {
		t.Fatal(err)
	}
	env := e.Env
	if env == nil || env.ID != "OLD1" || env.From != "a@b.test" || env.ClientIP != netip.MustParseAddr("192.0.2.1") ||
		env.ClientHost != "host.b.test" || env.Client.IP != env.ClientIP || env.AuthUser != "a@b.test" || env.EnvID != "e1" ||
		env.Ret != "FULL" || !env.Body8 || !env.Received.Equal(time.Unix(1700000000, 0)) || len(e.Rcpts) != 1 {
		t.Errorf("old row: %+v, envelope %+v", e, env)
	}

	whole := &envelope.Envelope{ID: "NEW1", From: "c@d.test", Received: time.Unix(1700000100, 0), Helo: "helo.d.test",
		TLS: "TLSv1.3", Protocol: "ESMTPS", Client: envelope.Client{Port: 2525, Helo: "helo.d.test"}}
	if err := q.Enqueue(ctx, whole, nil, bytesBody("Subject: x\r\n\r\n"), []Rcpt{{Address: "x@y.test", Kind: KindRemote}}); err != nil {
		t.Fatal(err)
	}
	e, err = q.Entry(ctx, "NEW1")
	if err != nil {
		t.Fatal(err)
	}
	if e.Env.Helo != "helo.d.test" || e.Env.TLS != "TLSv1.3" || e.Env.Protocol != "ESMTPS" || e.Env.Client.Port != 2525 {
		t.Errorf("new row: envelope %+v", e.Env)
	}
}
