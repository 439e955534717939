package smtpclient

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func fakeOpts() Options {
	return Options{HeloName: "client.test", ConnectTimeout: 5 * time.Second,
		CommandTimeout: 5 * time.Second, TLS: "none"}
}

// verbs returns the command verbs of one connection ("MAIL", "RCPT"...).
func verbs(cmds []string) string {
	var v []string
	for _, c := range cmds {
		w, _, _ := strings.Cut(c, " ")
		v = append(v, strings.ToUpper(w))
	}
	return strings.Join(v, " ")
}

func TestPipelining(t *testing.T) {
	pipe := []string{"PIPELINING", "8BITMIME", "SIZE 100000"}
	plain := []string{"8BITMIME", "SIZE 100000"}
	mixed := map[string]string{"b@x.test": "450 4.2.1 busy", "c@x.test": "550 5.1.1 no such user"}
	none := map[string]string{"a@x.test": "550 5.1.1 no", "b@x.test": "550 5.1.1 no", "c@x.test": "550 5.1.1 no"}
	tests := []struct {
		name  string
		cfg   fakeConfig
		want  []want
		rcpts []string // accepted, in the one message the server got; nil: no message
		verbs string   // of the connection
	}{
		{"pipelined group", fakeConfig{ext: pipe, group: true}, []want{{250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}},
			[]string{"a@x.test", "b@x.test", "c@x.test"}, "EHLO MAIL RCPT RCPT RCPT DATA QUIT"},
		{"lock-step without PIPELINING", fakeConfig{ext: plain, lockstep: true}, []want{{250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}},
			[]string{"a@x.test", "b@x.test", "c@x.test"}, "EHLO MAIL RCPT RCPT RCPT DATA QUIT"},
		{"mixed replies, pipelined", fakeConfig{ext: pipe, group: true, rcpt: mixed},
			[]want{{250, "2.0.0", false, ""}, {450, "4.2.1", false, ""}, {550, "5.1.1", true, ""}}, []string{"a@x.test"}, ""},
		{"mixed replies, lock-step", fakeConfig{ext: plain, lockstep: true, rcpt: mixed},
			[]want{{250, "2.0.0", false, ""}, {450, "4.2.1", false, ""}, {550, "5.1.1", true, ""}}, []string{"a@x.test"}, ""},
		{"no recipient accepted, pipelined: DATA refused, no body", fakeConfig{ext: pipe, group: true, rcpt: none},
			[]want{{550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}}, nil, "EHLO MAIL RCPT RCPT RCPT DATA QUIT"},
		{"no recipient accepted, lock-step: no DATA", fakeConfig{ext: plain, lockstep: true, rcpt: none},
			[]want{{550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}}, nil, "EHLO MAIL RCPT RCPT RCPT QUIT"},
		{"354 without recipients: only the dot", fakeConfig{ext: pipe, group: true, rcpt: none, data: "354 go ahead anyway"},
			[]want{{550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}, {550, "5.1.1", true, ""}}, []string{}, "EHLO MAIL RCPT RCPT RCPT DATA QUIT"},
		{"MAIL refused, pipelined", fakeConfig{ext: pipe, group: true, mail: func(int, int) string { return "553 5.7.1 sender refused" }},
			[]want{{553, "5.7.1", true, ""}, {553, "5.7.1", true, ""}, {553, "5.7.1", true, ""}}, nil, "EHLO MAIL RCPT RCPT RCPT DATA QUIT"},
		{"MAIL refused, lock-step", fakeConfig{ext: plain, lockstep: true, mail: func(int, int) string { return "451 4.3.0 later" }},
			[]want{{451, "4.3.0", false, ""}, {451, "4.3.0", false, ""}, {451, "4.3.0", false, ""}}, nil, "EHLO MAIL QUIT"},
		{"DATA refused, pipelined", fakeConfig{ext: pipe, group: true, rcpt: mixed, data: "451 4.3.0 not now"},
			[]want{{451, "4.3.0", false, ""}, {450, "4.2.1", false, ""}, {550, "5.1.1", true, ""}}, nil, ""},
		{"EHLO unknown: HELO, lock-step", fakeConfig{ext: nil, lockstep: true}, []want{{250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}, {250, "2.0.0", false, ""}},
			[]string{"a@x.test", "b@x.test", "c@x.test"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			f := newFake(t, tt.cfg)
			res, err := DeliverTo(context.Background(), fakeOpts(), f.hop(), msg("a@x.test", "b@x.test", "c@x.test"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want...)
			f.close()
			conns, msgs, cmds, violations, _ := f.snapshot()
			if len(violations) > 0 {
				t.Errorf("server saw: %q", violations)
			}
			if conns != 1 {
				t.Errorf("%d connections, want 1", conns)
			}
			if tt.verbs != "" && verbs(cmds[1]) != tt.verbs {
				t.Errorf("commands %q, want %q", verbs(cmds[1]), tt.verbs)
			}
			switch {
			case tt.rcpts == nil && len(msgs) != 0:
				t.Errorf("server got %+v, want no message", msgs)
			case tt.rcpts != nil && len(msgs) != 1:
				t.Errorf("server got %d messages, want 1", len(msgs))
			case tt.rcpts != nil && len(tt.rcpts) == 0:
				if msgs[0].body != "" {
					t.Errorf("body %q sent to no recipient", msgs[0].body)
				}
			case tt.rcpts != nil:
				if strings.Join(msgs[0].rcpts, ",") != strings.Join(tt.rcpts, ",") || msgs[0].body != body {
					t.Errorf("server got %+v, want recipients %q and the body", msgs[0], tt.rcpts)
				}
			}
		})
	}
}

// TestPipeliningManyRecipients sends 1,000 RCPTs (320 KB of commands) to a
// server with tiny socket buffers that answers each command as it reads
// it: a client that wrote them all before reading would block writing
// while the server blocks writing replies nobody reads. A unix socket
// has fixed buffers (TCP on loopback grows them to megabytes).
func TestPipeliningManyRecipients(t *testing.T) {
	noLeaks(t)
	pad := strings.Repeat("x", 300)
	rcpt := map[string]string{}
	var rcpts []string
	for i := range 1000 {
		a := fmt.Sprintf("user%04d.%s@many.test", i, pad)
		rcpts = append(rcpts, a)
		rcpt[a] = "250 2.1.5 <" + a + "> recipient ok"
	}
	rcpt[rcpts[500]] = "550 5.1.1 <" + rcpts[500] + "> no such user"
	f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}, rcpt: rcpt, smallBuffers: true, unix: true})
	o := fakeOpts()
	o.CommandTimeout = 20 * time.Second
	res, err := DeliverTo(context.Background(), o, f.hop(), msg(rcpts...))
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, r := range res {
		if want := i != 500; r.OK() != want || r.Rcpt != rcpts[i] {
			t.Errorf("result %d = %+v", i, r)
			if bad++; bad > 5 {
				break
			}
		}
	}
	_, msgs, _, violations, _ := f.snapshot()
	if len(violations) > 0 || len(msgs) != 1 || len(msgs[0].rcpts) != 999 {
		t.Errorf("server: %q, %d messages", violations, len(msgs))
	}
}

func TestLMTPPipelined(t *testing.T) {
	noLeaks(t)
	// No PIPELINING keyword: LMTP servers must pipeline (RFC 2033 4.2).
	f := newFake(t, fakeConfig{lmtp: true, group: true,
		rcpt:    map[string]string{"c@x.test": "550 5.1.1 unknown user"},
		lmtpEnd: map[string]string{"b@x.test": "452 4.2.2 over quota"}})
	res, err := DeliverTo(context.Background(), fakeOpts(), f.hop(), msg("a@x.test", "b@x.test", "c@x.test", "d@x.test"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, res, want{250, "2.0.0", false, "127.0.0.1[127.0.0.1]:"}, want{452, "4.2.2", false, ""},
		want{550, "5.1.1", true, ""}, want{250, "2.0.0", false, ""})
	f.close()
	_, msgs, cmds, violations, _ := f.snapshot()
	if len(violations) > 0 || len(msgs) != 1 {
		t.Errorf("server: %q, %d messages", violations, len(msgs))
	}
	if got := verbs(cmds[1]); got != "LHLO MAIL RCPT RCPT RCPT RCPT DATA QUIT" {
		t.Errorf("commands %q", got)
	}
}

func TestResultDSN(t *testing.T) {
	tests := []struct {
		name    string
		ext     []string
		down    bool
		wantDSN bool
		rcptCmd string
		mailCmd string
	}{
		{"DSN offered: parameters passed on", []string{"PIPELINING", "DSN"}, false, true,
			"RCPT TO:<a@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx@x.test", "MAIL FROM:<sender@client.test> RET=FULL ENVID=Q+3D1"},
		{"DSN not offered", []string{"PIPELINING"}, false, false, "RCPT TO:<a@x.test>", "MAIL FROM:<sender@client.test>"},
		{"no host reached", nil, true, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakeConfig{ext: tt.ext})
			hop := f.hop()
			if tt.down {
				f.close()
			}
			m := msg("a@x.test")
			m.RetFull, m.EnvID = true, "Q=1"
			m.Rcpts[0].Notify = []string{"success", "failure", "success"}
			m.Rcpts[0].ORCPT = "rfc822;orig+x@x.test"
			res, err := DeliverTo(context.Background(), fakeOpts(), hop, m)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].DSN != tt.wantDSN || res[0].OK() == tt.down {
				t.Errorf("result %+v, want DSN=%v", res[0], tt.wantDSN)
			}
			f.close()
			_, _, cmds, _, _ := f.snapshot()
			if !tt.down && (!contains(cmds[1], tt.rcptCmd) || !contains(cmds[1], tt.mailCmd)) {
				t.Errorf("commands %q, want %q and %q", cmds[1], tt.mailCmd, tt.rcptCmd)
			}
		})
	}
}

func TestNotifyParam(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"success", "DELAY"}, "SUCCESS,DELAY"},
		{[]string{"NEVER"}, "NEVER"},
		{[]string{"SUCCESS", "NEVER"}, ""},
		{[]string{"bogus", "failure", "FAILURE"}, "FAILURE"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := notifyParam(tt.in); got != tt.want {
			t.Errorf("notifyParam(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
