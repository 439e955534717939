package smtpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/testutil"
)

func TestDeliverTLS(t *testing.T) {
	good, pool := testutil.SelfSigned(t, []string{"mx2.mx.test"})
	broken := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate")
	}}
	tests := []struct {
		name    string
		server  *tls.Config
		level   string
		roots   bool
		want    want
		tls     string
		sinkTLS bool
	}{
		{"may, self-signed accepted", good, "may", false, want{250, "2.0.0", false, ""}, "TLS 1.3 untrusted", true},
		{"may, not offered", nil, "may", false, want{250, "2.0.0", false, ""}, "", false},
		{"may, handshake fails, plaintext retry", broken, "may", false, want{250, "2.0.0", false, ""}, "", false},
		{"none ignores STARTTLS", good, "none", false, want{250, "2.0.0", false, ""}, "", false},
		{"encrypt, not offered", nil, "encrypt", false, want{451, "4.7.4", false, ""}, "", false},
		{"encrypt, self-signed", good, "encrypt", false, want{250, "2.0.0", false, ""}, "TLS 1.3 untrusted", true},
		{"verify, self-signed refused", good, "verify", false, want{451, "4.7.5", false, ""}, "", false},
		{"verify, trusted CA", good, "verify", true, want{250, "2.0.0", false, ""}, "TLS 1.3 verified", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sinkConfig{TLS: tt.server}, nil, "127.0.0.3")
			e.opts.TLS = tt.level
			if tt.roots {
				e.opts.RootCAs = pool
			}
			res, err := Deliver(context.Background(), e.opts, "one.test", msg("a@one.test"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want)
			if res[0].TLS != tt.tls {
				t.Errorf("TLS = %q, want %q", res[0].TLS, tt.tls)
			}
			msgs := e.sinks["127.0.0.3"].messages()
			if tt.want.code == 250 && (len(msgs) != 1 || msgs[0].TLS != tt.sinkTLS) {
				t.Errorf("sink got %+v, want one message with TLS=%v", msgs, tt.sinkTLS)
			}
		})
	}
}

func TestDeliverExtensions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   sinkConfig
		edit  func(*Message)
		want  want
		check func(*testing.T, received)
	}{
		{"SIZE refused before sending", sinkConfig{MaxBytes: 10}, func(*Message) {},
			want{552, "5.3.4", true, ""}, nil},
		{"SIZE within limit", sinkConfig{MaxBytes: 1000}, func(*Message) {},
			want{250, "2.0.0", false, ""}, func(t *testing.T, r received) {
				if r.Mail.Size != int64(len(body)) || r.Mail.Body != smtp.Body8BitMIME {
					t.Errorf("MAIL options %+v, want SIZE=%d BODY=8BITMIME", r.Mail, len(body))
				}
			}},
		{"SMTPUTF8 needed, not offered", sinkConfig{}, func(m *Message) { m.SMTPUTF8 = true },
			want{550, "5.6.7", true, ""}, nil},
		{"SMTPUTF8 offered", sinkConfig{UTF8: true}, func(m *Message) { m.SMTPUTF8 = true },
			want{250, "2.0.0", false, ""}, func(t *testing.T, r received) {
				if !r.Mail.UTF8 {
					t.Error("MAIL without SMTPUTF8")
				}
			}},
		{"DSN parameters", sinkConfig{}, func(m *Message) {
			m.RetFull, m.EnvID = true, "Q123"
			m.Rcpts[0].Notify = []string{"failure", "delay", "bogus"}
			m.Rcpts[0].ORCPT = "rfc822;orig@one.test"
		}, want{250, "2.0.0", false, ""}, func(t *testing.T, r received) {
			if r.Mail.Return != smtp.DSNReturnFull || r.Mail.EnvelopeID != "Q123" {
				t.Errorf("MAIL options %+v, want RET=FULL ENVID=Q123", r.Mail)
			}
			o := r.RcptOpts[0]
			if len(o.Notify) != 2 || o.Notify[0] != smtp.DSNNotifyFailure || o.OriginalRecipient != "orig@one.test" {
				t.Errorf("RCPT options %+v", o)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, nil, "127.0.0.3")
			m := msg("a@one.test")
			tt.edit(m)
			res, err := Deliver(context.Background(), e.opts, "one.test", m)
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want)
			msgs := e.sinks["127.0.0.3"].messages()
			if tt.check == nil {
				if len(msgs) != 0 {
					t.Errorf("sink got %d messages, want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("sink got %d messages, want 1", len(msgs))
			}
			tt.check(t, msgs[0])
		})
	}
}

func TestDeliverToLMTPUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lmtp")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{
		rcptErr: map[string]*smtp.SMTPError{"c@local.test": srvReply(550, "unknown user")},
		lmtpErr: map[string]*smtp.SMTPError{"b@local.test": srvReply(452, "over quota")},
	}
	serve(t, ln, s, sinkConfig{LMTP: true})
	hop := Hop{Unix: path, LMTP: true}
	res, err := DeliverTo(context.Background(), Options{HeloName: "client.test"}, hop,
		msg("a@local.test", "b@local.test", "c@local.test"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, res, want{250, "2.0.0", false, "localhost[" + path + "]"},
		want{452, "4.0.0", false, ""}, want{550, "5.0.0", true, ""})
}

func TestDeliverToRelayAuth(t *testing.T) {
	cert, _ := testutil.SelfSigned(t, []string{"relay.test"})
	tests := []struct {
		name     string
		level    string
		password string
		want     want
	}{
		{"over TLS", "may", "secret", want{250, "2.0.0", false, "mx2.mx.test[127.0.0.3]:"}},
		{"no credentials without TLS", "none", "secret", want{451, "4.7.0", false, ""}},
		{"wrong password", "may", "wrong", want{451, "4.7.0", false, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sinkConfig{TLS: cert}, func(s *sink) { s.password = "secret" }, "127.0.0.3")
			e.opts.TLS = tt.level
			hop := Hop{Host: "[mx2.mx.test]", NoMX: true, Username: "u", Password: tt.password}
			res, err := DeliverTo(context.Background(), e.opts, hop, msg("x@far.test"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, tt.want)
			msgs := e.sinks["127.0.0.3"].messages()
			if tt.want.code == 250 && (len(msgs) != 1 || msgs[0].User != "u") {
				t.Errorf("sink got %+v, want one message from user u", msgs)
			}
		})
	}
}
