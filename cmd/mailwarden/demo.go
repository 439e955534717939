package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

const demoConfig = `# Mailwarden demo configuration (written by "mailwarden demo").
hostname = "mail.example.test"
data_dir = "."
mynetworks = ["127.0.0.0/8", "::1/128"]

[listen]
smtp = ["127.0.0.1:2525"]
submission = ["127.0.0.1:2587"]
imap = ["127.0.0.1:2143"]
imaps = ["127.0.0.1:2993"]
pop3 = ["127.0.0.1:2110"]
pop3s = ["127.0.0.1:2995"]

[auth]
# Lets a local client log in without TLS on loopback (like a local webmail).
allow_plaintext_loopback = true

[smtp]
message_size_limit = "25M"
`

// demo runs the server on embedded defaults: a data directory with a
// config file, loopback high ports, and a demo domain and mailbox.
func (c *cli) demo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "mailwarden-demo", "data directory")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	cfgPath := filepath.Join(abs, "mailwarden.toml")
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(cfgPath, []byte(demoConfig), 0o600); err != nil {
			return err
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	const domain, user = "example.test", "demo@example.test"
	if err := e.dir.AddDomain(ctx, directory.Domain{Name: domain, Active: true, Description: "demo domain"}); err != nil && !errors.Is(err, directory.ErrExists) {
		e.close()
		return err
	}
	pw := rand.Text()[:16]
	hash, err := password.Hash(pw)
	if err != nil {
		e.close()
		return err
	}
	m, err := e.dir.Mailbox(ctx, user)
	if errors.Is(err, directory.ErrNotFound) {
		m, err = e.dir.AddMailbox(ctx, directory.Mailbox{Username: user, PasswordHash: hash, Name: "Demo User", Active: true})
	} else if err == nil {
		err = e.dir.SetPassword(ctx, user, hash)
	}
	if err == nil {
		err = e.store.EnsureMailbox(ctx, m.Username, m.Maildir)
	}
	e.close()
	if err != nil {
		return err
	}
	certFile := cfg.TLS.CertFile
	if certFile == "" {
		certFile = filepath.Join(cfg.DataDir, "tls", "selfsigned.crt") // made by serve
	}
	return c.serveConfig(cfg, func() {
		fmt.Fprintf(c.stdout, `
Mailwarden demo is running.
  config:      %[1]s
  mailbox:     %[2]s   password: %[3]s   (new at every demo start)
  SMTP (MX):   %[4]v   submission (STARTTLS + AUTH): %[5]v
  IMAP:        %[6]v (TLS %[7]v)   POP3: %[8]v (TLS %[9]v)
  certificate: %[10]s (self-signed, for %[11]s, localhost and 127.0.0.1)
  Maildir:     %[12]s

Walkthrough (in another terminal):
  1. send as a mail client would, with AUTH on the submission port:
       swaks --server %[5]s --tls --auth PLAIN --auth-user %[2]s --auth-password '%[3]s' --from %[2]s --to %[2]s
     or as another server would, on port 25's stand-in:
       swaks --server %[4]s --to %[2]s
  2. read it with an IMAP client (Thunderbird: server 127.0.0.1, port %[13]s, SSL/TLS), or:
       curl -k 'imaps://%[7]s/INBOX;UID=1' -u '%[2]s:%[3]s'
  3. see the log: the lines printed below ("to=<%[2]s>, ... status=sent")
  4. see the queue (mail to other domains waits there: no DNS in the demo):
       mailwarden -config %[1]s queue list
  5. the server:  mailwarden -config %[1]s status
Stop with Ctrl-C.
`, cfgPath, user, pw, first(cfg.Listen.SMTP), first(cfg.Listen.Submission), first(cfg.Listen.IMAP), first(cfg.Listen.IMAPS),
			first(cfg.Listen.POP3), first(cfg.Listen.POP3S), certFile, cfg.Hostname, e.store.MailboxPath(m.Maildir), portOf(first(cfg.Listen.IMAPS)))
	})
}

// first is the first address of a service, "(off)" when it has none.
func first(addrs []string) string {
	if len(addrs) == 0 {
		return "(off)"
	}
	return addrs[0]
}

// portOf is the port of host:port.
func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}
