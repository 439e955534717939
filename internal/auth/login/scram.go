package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// enabled reports whether SASL mechanism name is in auth.mechanisms.
func enabled(cfg *config.Config, name string) bool {
	for _, m := range cfg.Auth.Mechanisms {
		if strings.EqualFold(m, name) {
			return true
		}
	}
	return false
}

// storeSCRAM makes and stores SCRAM-SHA-256 keys for pw after a password
// login, unless the stored hash is itself SCRAM-SHA-256 or keys with the
// configured iteration count exist for it. Failures are only logged.
func (a *Authenticator) storeSCRAM(ctx context.Context, cfg *config.Config, mb directory.Mailbox, pw, who string) {
	if a.keys == nil {
		return
	}
	if _, ok, _ := password.SCRAMSHA256Keys(mb.PasswordHash); ok {
		return
	}
	iter := cfg.Auth.SCRAMIterations
	k, err := a.keys.SCRAMKeys(ctx, mb.Username)
	switch {
	case err == nil && k.Iterations == iter:
		return
	case err != nil && !errors.Is(err, directory.ErrNotFound):
		a.log.Warn("auth: SCRAM-SHA-256 keys not stored: " + who + ": " + err.Error())
		return
	}
	if err := a.acquire(ctx); err != nil {
		return
	}
	k, err = password.NewSCRAMKeys(pw, iter)
	a.release()
	if err == nil {
		err = a.keys.SetSCRAMKeys(ctx, mb.Username, mb.PasswordHash, k)
	}
	if err != nil {
		a.log.Warn("auth: SCRAM-SHA-256 keys not stored: " + who + ": " + err.Error())
		return
	}
	a.log.Info("auth: SCRAM-SHA-256 keys stored: " + who + ", iterations=" + strconv.Itoa(iter))
}

// secretSize is the size of the per-installation secret in bytes.
const secretSize = 32

// installSecret returns the per-installation secret that keys made-up
// SCRAM credentials: stored in the database when the directory can keep
// it (so every node answers alike), else random for this process.
func (a *Authenticator) installSecret(ctx context.Context) ([]byte, error) {
	a.secretMu.Lock()
	defer a.secretMu.Unlock()
	if a.secret != nil {
		return a.secret, nil
	}
	if a.keys == nil {
		a.secret = make([]byte, secretSize)
		rand.Read(a.secret)
		return a.secret, nil
	}
	s, err := a.keys.Secret(ctx, "scram", secretSize)
	if err != nil {
		return nil, err
	}
	a.secret = s
	return s, nil
}

// fakeSCRAM returns SCRAM-SHA-256 credentials for a user that has none
// (unknown, or no keys for the current password): salt and keys are an
// HMAC of the normalized user name under the installation secret, so the
// same name always gets the same salt and the configured iteration count,
// like a real user, and no proof matches them.
func (a *Authenticator) fakeSCRAM(ctx context.Context, username string, iter int) (password.SCRAMKeys, error) {
	secret, err := a.installSecret(ctx)
	if err != nil {
		return password.SCRAMKeys{}, err
	}
	name, err := directory.Normalize(username)
	if err != nil {
		name = strings.ToLower(username)
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("mailwarden SCRAM-SHA-256 " + label + "\x00" + name))
		return m.Sum(nil)
	}
	return password.SCRAMKeys{
		Iterations: iter,
		Salt:       derive("salt")[:16],
		StoredKey:  derive("stored key"),
		ServerKey:  derive("server key"),
	}, nil
}
