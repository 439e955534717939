package smtpclient

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/dnsx/dnstest"
)

const zone = `
mx.test.        MX 10 mx1.mx.test.
mx.test.        MX 20 mx2.mx.test.
mx1.mx.test.    A  127.0.0.2
mx2.mx.test.    A  127.0.0.3
one.test.       MX 10 mx2.mx.test.
implicit.test.  A  127.0.0.3
dangling.test.  MX 10 nohost.test.
`

// env is a DNS zone and sinks on 127.0.0.2 and 127.0.0.3 at one port.
type env struct {
	dns   *dnstest.Server
	sinks map[string]*sink // by IP; nil: the host is down
	opts  Options
}

// newEnv starts a sink on each IP in up (the other of 127.0.0.2/.3 is
// down) with cfg; setup, when not nil, configures each sink before it
// serves.
func newEnv(t *testing.T, cfg sinkConfig, setup func(*sink), up ...string) *env {
	t.Helper()
	d := dnstest.New(t, zone)
	d.NullMX("nullmx.test")
	d.ServFail("broken.test", true)
	port, lns := listenAll(t, "127.0.0.2", "127.0.0.3")
	e := &env{dns: d, sinks: map[string]*sink{}}
	for _, ln := range lns {
		ip := ln.Addr().(*net.TCPAddr).IP.String()
		if !contains(up, ip) {
			ln.Close()
			continue
		}
		s := &sink{}
		if setup != nil {
			setup(s)
		}
		e.sinks[ip] = s
		serve(t, ln, s, cfg)
	}
	e.opts = Options{Resolver: d.Resolver(), Port: port, HeloName: "client.test",
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second, TLS: "may"}
	return e
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const body = "Subject: test\r\n\r\nhello\r\n"

func msg(rcpts ...string) *Message {
	m := &Message{From: "sender@client.test", Size: int64(len(body)),
		Body: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
	for _, r := range rcpts {
		m.Rcpts = append(m.Rcpts, Rcpt{Addr: r})
	}
	return m
}

// want is the expected Result of one recipient; an empty Relay is not
// checked.
type want struct {
	code      int
	enhanced  string
	permanent bool
	relay     string
}

func check(t *testing.T, res []Result, wants ...want) {
	t.Helper()
	if len(res) != len(wants) {
		t.Fatalf("got %d results, want %d: %+v", len(res), len(wants), res)
	}
	for i, w := range wants {
		r := res[i]
		if r.Code != w.code || r.Enhanced != w.enhanced || r.Permanent != w.permanent ||
			(w.relay != "" && !strings.HasPrefix(r.Relay, w.relay)) {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
	}
}

func TestDeliverRouting(t *testing.T) {
	tests := []struct {
		name   string
		up     []string
		domain string
		want   want
		gotAt  string // sink IP that must have the message
	}{
		{"first MX down, second takes it", []string{"127.0.0.3"}, "mx.test",
			want{250, "2.0.0", false, "mx2.mx.test[127.0.0.3]:"}, "127.0.0.3"},
		{"preferred MX takes it", []string{"127.0.0.2", "127.0.0.3"}, "mx.test",
			want{250, "2.0.0", false, "mx1.mx.test[127.0.0.2]:"}, "127.0.0.2"},
		{"implicit MX", []string{"127.0.0.3"}, "implicit.test",
			want{250, "2.0.0", false, "implicit.test[127.0.0.3]:"}, "127.0.0.3"},
		{"null MX", []string{"127.0.0.3"}, "nullmx.test", want{556, "5.1.10", true, "none"}, ""},
		{"NXDOMAIN", []string{"127.0.0.3"}, "nowhere.test", want{550, "5.4.4", true, "none"}, ""},
		{"MX host does not exist", []string{"127.0.0.3"}, "dangling.test", want{550, "5.4.4", true, "none"}, ""},
		{"SERVFAIL", []string{"127.0.0.3"}, "broken.test", want{451, "4.4.3", false, "none"}, ""},
		{"all MX down", nil, "mx.test", want{451, "4.4.1", false, "mx2.mx.test[127.0.0.3]:"}, ""},
		{"IP literal", []string{"127.0.0.2"}, "[127.0.0.2]",
			want{250, "2.0.0", false, "127.0.0.2[127.0.0.2]:"}, "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sinkConfig{}, nil, tt.up...)
			res, err := Deliver(context.Background(), e.opts, tt.domain, msg("a@"+tt.domain))
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want)
			for ip, s := range e.sinks {
				n := len(s.messages())
				if (ip == tt.gotAt) != (n == 1) {
					t.Errorf("sink %s has %d messages", ip, n)
				}
			}
		})
	}
}

func TestDeliverReplies(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*sink)
		want  []want
	}{
		{"mixed per-recipient", func(s *sink) {
			s.rcptErr = map[string]*smtp.SMTPError{"b@one.test": srvReply(450, "mailbox busy"),
				"c@one.test": srvReply(550, "no such user")}
		}, []want{{250, "2.0.0", false, ""}, {450, "4.0.0", false, ""}, {550, "5.0.0", true, ""}}},
		{"4xx at MAIL", func(s *sink) { s.mailErr = srvReply(451, "try later") },
			[]want{{451, "4.0.0", false, ""}, {451, "4.0.0", false, ""}, {451, "4.0.0", false, ""}}},
		{"5xx at MAIL", func(s *sink) { s.mailErr = srvReply(553, "sender refused") },
			[]want{{553, "5.0.0", true, ""}, {553, "5.0.0", true, ""}, {553, "5.0.0", true, ""}}},
		{"5xx after DATA keeps RCPT replies", func(s *sink) {
			s.rcptErr = map[string]*smtp.SMTPError{"b@one.test": srvReply(450, "busy")}
			s.dataErr = srvReply(554, "content rejected")
		}, []want{{554, "5.0.0", true, ""}, {450, "4.0.0", false, ""}, {554, "5.0.0", true, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sinkConfig{}, tt.setup, "127.0.0.3")
			res, err := Deliver(context.Background(), e.opts, "one.test", msg("a@one.test", "b@one.test", "c@one.test"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want...)
		})
	}
}

func TestDeliverCancelled(t *testing.T) {
	e := newEnv(t, sinkConfig{}, nil, "127.0.0.3")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Deliver(ctx, e.opts, "one.test", msg("a@one.test"))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Permanent || res[0].OK() {
		t.Fatalf("cancelled delivery: %+v, want a temporary failure", res[0])
	}
}

func TestDeliverBadArguments(t *testing.T) {
	e := newEnv(t, sinkConfig{}, nil)
	tests := []struct {
		name string
		edit func(*Options, *Message)
	}{
		{"unknown TLS level", func(o *Options, _ *Message) { o.TLS = "sometimes" }},
		{"no recipients", func(_ *Options, m *Message) { m.Rcpts = nil }},
		{"no body", func(_ *Options, m *Message) { m.Body = nil }},
		{"no resolver", func(o *Options, _ *Message) { o.Resolver = nil }},
	}
	for _, tt := range tests {
		o, m := e.opts, msg("a@one.test")
		tt.edit(&o, m)
		if _, err := Deliver(context.Background(), o, "one.test", m); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
