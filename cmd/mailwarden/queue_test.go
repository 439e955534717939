package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/envelope"
	"mailwarden/internal/queue"
)

// queueSetup writes a config for a fresh data_dir and queues two messages.
func queueSetup(t *testing.T) (cfgPath string, ids []string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "mailwarden.toml")
	conf := fmt.Sprintf("hostname = \"mx.test.example\"\ndata_dir = %q\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := openData(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	q, err := queue.New(e.db, filepath.Join(cfg.DataDir, "queue"), false)
	if err != nil {
		t.Fatal(err)
	}
	for i, from := range []string{"alice@test.example", ""} {
		env := &envelope.Envelope{ID: envelope.NewID(), From: from, Received: time.Now().Add(time.Duration(i) * time.Second)}
		rcpts := []queue.Rcpt{{Address: "bob@remote.example", Kind: queue.KindRemote, LastError: "451 4.4.1 connect refused"},
			{Address: "carol@remote.example", Kind: queue.KindRemote}}
		body := strings.Repeat("x", 2000)
		if err := q.Enqueue(ctx, env, []byte("Received: test\r\n"), spool(t, "Subject: hi\r\n\r\n"+body+"\r\n"), rcpts); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.ID)
	}
	return cfgPath, ids
}

func spool(t *testing.T, s string) *envelope.Spool {
	sp := envelope.NewSpool(t.TempDir(), 1<<20, 0)
	if _, err := sp.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return sp
}

// queueCLI runs `mailwarden -config cfg queue args...`.
func queueCLI(cfg string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	c := &cli{cfgPath: cfg, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	err := c.queueCmd(args)
	return out.String() + errb.String(), err
}

func TestQueueCLI(t *testing.T) {
	cfg, ids := queueSetup(t)
	steps := []struct {
		args    []string
		want    []string // substrings of the output
		notWant []string
		wantErr bool
	}{
		{args: []string{"list"}, want: []string{ids[0] + " ", "alice@test.example", ids[1], "MAILER-DAEMON",
			"(451 4.4.1 connect refused)\n", "bob@remote.example", "carol@remote.example", "-- 4 Kbytes in 2 Requests."}},
		{args: []string{"show", ids[0]}, want: []string{"*** ENVELOPE RECORDS " + ids[0], "sender: alice@test.example",
			"recipient: bob@remote.example (kind=remote, status=queued, attempts=0)", "*** MESSAGE CONTENTS",
			"Received: test\r\nSubject: hi\r\n", "*** MESSAGE FILE END"}},
		{args: []string{"show", "NOSUCHID"}, wantErr: true},
		{args: []string{"hold", ids[0]}, want: []string{"held 1 message(s)"}},
		{args: []string{"list"}, want: []string{ids[0] + "!"}},
		{args: []string{"flush"}, want: []string{"1 message(s) due now"}},
		{args: []string{"release", ids[0]}, want: []string{"released 1"}},
		{args: []string{"list"}, notWant: []string{"!"}},
		{args: []string{"delete", ids[1]}, want: []string{"deleted 1 message(s)"}},
		{args: []string{"list"}, want: []string{"in 1 Request."}, notWant: []string{ids[1]}},
		{args: []string{"delete", "ALL"}, want: []string{"deleted 1 message(s)"}},
		{args: []string{"list"}, want: []string{"Mail queue is empty"}},
		{args: []string{"hold", ids[0]}, wantErr: true},
		{args: []string{"bogus"}, wantErr: true},
		{args: []string{}, wantErr: true},
	}
	for _, s := range steps {
		out, err := queueCLI(cfg, s.args...)
		if (err != nil) != s.wantErr {
			t.Fatalf("queue %v: err %v, output:\n%s", s.args, err, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("queue %v: output lacks %q:\n%s", s.args, w, out)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(out, w) {
				t.Errorf("queue %v: output has %q:\n%s", s.args, w, out)
			}
		}
	}
	if files, _ := os.ReadDir(filepath.Join(filepath.Dir(cfg), "data", "queue")); len(files) != 0 {
		t.Errorf("queue files left: %v", files)
	}
}
