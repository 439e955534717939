package login

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/event"
)

// Directory is what Authenticator needs of the account database;
// *directory.Directory satisfies it.
type Directory interface {
	Mailbox(ctx context.Context, address string) (directory.Mailbox, error)
	SetPassword(ctx context.Context, address, hash string) error
}

// KeyStore is what a Directory may also offer, for SCRAM-SHA-256:
// stored keys, bound to the stored password hash they were made with, and
// a per-installation secret; *directory.Directory implements it. Without
// it SCRAM-SHA-256 never succeeds.
type KeyStore interface {
	// SCRAMKeys fails with directory.ErrNotFound when the mailbox has no
	// keys for its current password.
	SCRAMKeys(ctx context.Context, address string) (password.SCRAMKeys, error)
	SetSCRAMKeys(ctx context.Context, address, forHash string, k password.SCRAMKeys) error
	Secret(ctx context.Context, name string, size int) ([]byte, error)
}

var (
	// ErrFailed means a wrong user name or password; which one is never said.
	ErrFailed = errors.New("authentication failed")
	// ErrTemporary means the client should try again later: its IP is over
	// the failure limit, or (wrapped, see Check) the directory is
	// unavailable.
	ErrTemporary = errors.New("too many failed logins, try again later")
)

// tempError is a temporary failure with a cause; errors.Is(err,
// ErrTemporary) holds for it.
type tempError struct{ err error }

func (e *tempError) Error() string {
	return "authentication temporarily unavailable: " + e.err.Error()
}
func (e *tempError) Is(target error) bool { return target == ErrTemporary }
func (e *tempError) Unwrap() error        { return e.err }

// Authenticator checks passwords for every service. It is safe for
// concurrent use.
type Authenticator struct {
	dir  Directory
	keys KeyStore // dir, when it is one; else nil
	cfg  func() *config.Config
	log  *slog.Logger
	now  func() time.Time // tests replace it

	// sem bounds concurrent hash computations: argon2id as Hash makes it
	// takes ~19 MiB each, so a burst of logins must queue, not exhaust
	// memory.
	sem chan struct{}

	mu     sync.Mutex
	ips    *limiter
	shared Failures        // nil: failures counted in ips (SetFailures)
	events event.Publisher // nil: no AuthLockout events (SetEvents)

	dummyOnce sync.Once
	dummy     string

	secretMu sync.Mutex
	secret   []byte // keys made-up SCRAM credentials; see fakeSCRAM
}

// New returns an Authenticator over dir. cfg is read at every Check, so a
// reloaded config applies at once. log may be nil.
func New(dir Directory, cfg func() *config.Config, log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keys, _ := dir.(KeyStore)
	return &Authenticator{
		dir: dir, keys: keys, cfg: cfg, log: log, now: time.Now,
		sem: make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0))),
		ips: newLimiter(defaultMaxEntries),
	}
}

// Check verifies username and password of a client at ip for service
// ("imap", "pop3", "submission") using mech ("PLAIN", "LOGIN"; for logs).
//
// It returns the mailbox on success; ErrFailed for a wrong password, an
// unknown user, an inactive mailbox or an unusable stored hash, after
// auth.failure_delay (cut short when ctx ends); an error for which
// errors.Is(err, ErrTemporary) holds when ip has had auth.max_failures
// failures within auth.failure_window (until that window has passed after
// the last counted one; no password is checked meanwhile), when that many
// of its attempts are failed or still running (each attempt counts as a
// failure from its start until it succeeds), or when the directory fails. Unknown users cost the same hash computation as known
// ones, so timing does not tell them apart. A successful login with a hash
// that password.NeedsRehash is stored again as password.Hash (best effort;
// not a {CRAM-MD5} or {PLAIN} one while CRAM-MD5 is in auth.mechanisms, as
// CRAM-MD5 needs it), and when SCRAM-SHA-256 is in auth.mechanisms, SCRAM
// keys are stored for the password if missing or of another iteration
// count than auth.scram_iterations.
// A success does not clear earlier failures: they age out of the window,
// so one valid account does not buy unlimited guesses at others.
func (a *Authenticator) Check(ctx context.Context, service, mech, username, pw string, ip netip.Addr) (directory.Mailbox, error) {
	cfg := a.cfg()
	key := clientKey(ip)
	who := "user=<" + LogSafe(username) + ">, rip=" + IPString(ip) + ", method=" + LogSafe(mech) + ", service=" + LogSafe(service)

	id, ok, err := a.beginCtx(ctx, cfg, key)
	if err != nil {
		a.log.Warn("auth: failed: " + who + ", reason=" + err.Error())
		return directory.Mailbox{}, err
	}
	if !ok {
		a.log.Debug("auth: failed: " + who + ", reason=client locked out, too many recent failures")
		return directory.Mailbox{}, ErrTemporary
	}

	mb, err := a.dir.Mailbox(ctx, username)
	known := err == nil
	if err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrBadAddress) {
		a.releaseAttempt(key, id)
		a.log.Warn("auth: failed: " + who + ", reason=directory lookup failed: " + err.Error())
		return directory.Mailbox{}, &tempError{err}
	}
	stored := mb.PasswordHash
	if !known {
		stored = a.dummyHash()
	}
	if err := a.acquire(ctx); err != nil {
		a.releaseAttempt(key, id)
		return directory.Mailbox{}, &tempError{err}
	}
	ok, verr := password.Verify(stored, pw)
	a.release()

	var reason string
	switch {
	case !known:
		reason = "unknown user"
	case verr != nil:
		reason = "stored password hash unusable: " + verr.Error()
		a.log.Warn("auth: " + who + ": " + reason)
	case !ok:
		reason = "password mismatch"
	case !mb.Active:
		reason = "mailbox disabled"
	case pw == "":
		reason = "empty password"
	}
	if reason != "" {
		return directory.Mailbox{}, a.failed(ctx, cfg, key, id, ip, username, who, reason)
	}
	a.releaseAttempt(key, id)
	if password.NeedsRehash(mb.PasswordHash) && !(enabled(cfg, "CRAM-MD5") && password.CanCRAMMD5(mb.PasswordHash)) {
		if h, ok := a.rehash(ctx, mb, pw, who); ok {
			mb.PasswordHash = h
		}
	}
	if enabled(cfg, "SCRAM-SHA-256") {
		a.storeSCRAM(ctx, cfg, mb, pw, who)
	}
	a.log.Info("auth: login: " + who)
	return mb, nil
}

// begin reserves a login attempt of the client key before anything is
// checked, so that it counts as a failure while it runs: a client sending
// many guesses in parallel is capped by auth.max_failures exactly as one
// sending them in turn. It is false when the client is locked out or has
// that many failures and attempts in progress within auth.failure_window.
func (a *Authenticator) beginCtx(ctx context.Context, cfg *config.Config, key netip.Addr) (uint64, bool, error) {
	a.mu.Lock()
	f := a.shared
	if f == nil {
		defer a.mu.Unlock()
		id, ok := a.ips.begin(key, a.now(), cfg.Auth.MaxFailures, cfg.Auth.FailureWindow.D())
		return id, ok, nil
	}
	a.mu.Unlock()
	return a.beginShared(ctx, f, cfg.Auth.MaxFailures, cfg.Auth.FailureWindow.D(), key)
}

// releaseAttempt stops counting attempt id of key: it succeeded, or ended
// (directory down, client gone) before a password was checked.
func (a *Authenticator) releaseAttempt(key netip.Addr, id uint64) {
	a.mu.Lock()
	a.ips.release(key, id)
	a.mu.Unlock()
}

// failed counts attempt id (0: one not reserved) as failed, logs it,
// waits out the failure delay and returns ErrFailed.
func (a *Authenticator) failed(ctx context.Context, cfg *config.Config, key netip.Addr, id uint64, ip netip.Addr, user, who, reason string) error {
	window := cfg.Auth.FailureWindow.D()
	a.mu.Lock()
	f, events := a.shared, a.events
	var lockedNow bool
	if f == nil {
		lockedNow = a.ips.fail(key, id, a.now(), cfg.Auth.MaxFailures, window)
	}
	a.mu.Unlock()
	if f != nil {
		lockedNow = a.failShared(ctx, f, key, user, id, cfg.Auth.MaxFailures, window)
	}
	a.log.Info("auth: failed: " + who + ", reason=" + reason)
	if lockedNow && events != nil {
		events.Publish(&event.AuthLockout{Client: ip, Failures: cfg.Auth.MaxFailures, Until: a.clock().Add(window)})
	}
	if lockedNow {
		rip := IPString(ip)
		if key.Is6() {
			rip += " (" + netip.PrefixFrom(key, 64).String() + ")"
		}
		a.log.Warn("auth: too many failures: rip=" + rip + ", " + strconv.Itoa(cfg.Auth.MaxFailures) +
			" failed logins within " + window.String() + "; refusing logins from it for " + window.String())
	}
	if d := cfg.Auth.FailureDelay.D(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return ErrFailed
}

// rehash replaces an outdated stored hash and returns the new one;
// failures are only logged.
func (a *Authenticator) rehash(ctx context.Context, mb directory.Mailbox, pw, who string) (string, bool) {
	if err := a.acquire(ctx); err != nil {
		return "", false
	}
	h, err := password.Hash(pw)
	a.release()
	if err == nil {
		err = a.dir.SetPassword(ctx, mb.Username, h)
	}
	from := password.Scheme(mb.PasswordHash)
	if err != nil {
		a.log.Warn("auth: rehash failed: " + who + ", scheme=" + from + ": " + err.Error())
		return "", false
	}
	a.log.Info("auth: rehashed: " + who + ", scheme=" + from + " -> " + password.Scheme(h))
	return h, true
}

// SetClock replaces the clock the failure window and lockouts are
// measured with (time.Now by default); for tests of the services.
func (a *Authenticator) SetClock(now func() time.Time) {
	a.mu.Lock()
	a.now = now
	a.mu.Unlock()
}

func (a *Authenticator) acquire(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Authenticator) release() { <-a.sem }

// dummyHash is a hash in the current default scheme of a random password,
// verified for unknown users so they take as long as known ones.
func (a *Authenticator) dummyHash() string {
	a.dummyOnce.Do(func() {
		h, err := password.Hash(rand.Text())
		if err != nil {
			h = "{ARGON2ID}unusable"
		}
		a.dummy = h
	})
	return a.dummy
}

// LogSafe makes client-supplied text (a user name) fit in one log line:
// control characters, invalid UTF-8 and '<' '>' become '?', and it is cut
// at 100 bytes.
func LogSafe(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '<' || r == '>' || r == 0xfffd {
			return '?'
		}
		return r
	}, s)
}
