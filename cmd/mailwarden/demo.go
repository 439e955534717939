package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
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
	return c.serveConfig(cfg, func() {
		fmt.Fprintf(c.stdout, `
Mailwarden demo is running.
  config:    %s   (admin: mailwarden -config %s user list)
  SMTP:      %v   IMAP: %v (TLS %v)   POP3: %v (TLS %v)
  mailbox:   %s   password: %s   (new at every demo start)
  Maildir:   %s
Try: swaks --server %s --to %s
Stop with Ctrl-C.
`, cfgPath, cfgPath, cfg.Listen.SMTP, cfg.Listen.IMAP, cfg.Listen.IMAPS, cfg.Listen.POP3, cfg.Listen.POP3S, user, pw, e.store.MailboxPath(m.Maildir), cfg.Listen.SMTP[0], user)
	})
}
