package pickup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"mailwarden/internal/dsn"
)

// Picker takes the files out of the maildrop directory, as Postfix's
// pickup: at start, every Interval and when Wake is called (the inotify
// watcher calls it when a file becomes ready). Each file is one SMTP
// session over Dial with the file owner's uid; the file is removed only
// after the server's 250 (or after its every recipient was refused and
// the sender was told). A file the picker cannot use is moved to the
// corrupt directory with a log line.
type Picker struct {
	Dir     string // data_dir/maildrop
	Corrupt string // data_dir/maildrop/corrupt
	// Dial opens a session with a Pickup-mode server as uid.
	Dial func(uid int) (net.Conn, error)
	// Hostname is the config's hostname (EHLO, bounces); read per file.
	Hostname func() string
	Log      *slog.Logger
	// Interval between scans; 0 means 60s, as Postfix's pickup.
	Interval time.Duration
	// Stale is how long an incomplete file (not yet marked ready) may
	// wait before it is moved aside; 0 means 24h.
	Stale time.Duration

	wake chan struct{}
	once sync.Once
}

func (p *Picker) init() {
	p.once.Do(func() { p.wake = make(chan struct{}, 1) })
}

// Wake asks for a scan soon.
func (p *Picker) Wake() {
	p.init()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run scans until ctx ends.
func (p *Picker) Run(ctx context.Context) {
	p.init()
	interval := p.Interval
	if interval <= 0 {
		interval = 60 * time.Second
	}
	if stop, err := watch(p.Dir, p.Wake); err != nil {
		p.Log.Info("maildrop: no change notification (" + err.Error() + "); scanning every " + interval.String())
	} else {
		defer stop()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.Scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Scan handles every ready file once and returns how many it delivered.
func (p *Picker) Scan(ctx context.Context) int {
	d, err := os.Open(p.Dir)
	if err != nil {
		p.Log.Error("maildrop: " + err.Error())
		return 0
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		p.Log.Error("maildrop: " + err.Error())
		return 0
	}
	n := 0
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		if p.file(name) {
			n++
		}
	}
	return n
}

// file handles one directory entry; it reports whether the file's
// message was delivered (and the file removed).
func (p *Picker) file(name string) bool {
	path := filepath.Join(p.Dir, name)
	st, err := os.Lstat(path)
	if err != nil || st.IsDir() && filepath.Clean(path) == filepath.Clean(p.Corrupt) {
		return false
	}
	if !st.Mode().IsRegular() {
		p.aside(name, "not a regular file")
		return false
	}
	if st.Mode().Perm()&0o100 == 0 { // not marked complete yet
		if time.Since(st.ModTime()) > staleOr(p.Stale) {
			p.aside(name, "incomplete for more than "+staleOr(p.Stale).String())
		}
		return false
	}
	// O_NOFOLLOW and O_NONBLOCK: the entry may have been replaced by a
	// symlink or a FIFO since Lstat.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		p.Log.Warn("maildrop: " + name + ": " + err.Error())
		return false
	}
	defer f.Close()
	fst, err := f.Stat()
	if err != nil {
		p.Log.Warn("maildrop: " + name + ": " + err.Error())
		return false
	}
	sys, ok := fst.Sys().(*syscall.Stat_t)
	switch {
	case !ok || !fst.Mode().IsRegular():
		p.aside(name, "not a regular file")
		return false
	case sys.Nlink != 1: // a hard link to someone else's file
		p.aside(name, fmt.Sprintf("%d hard links", sys.Nlink))
		return false
	}
	uid := int(sys.Uid)
	e, size, body, err := ReadFile(f)
	if err != nil {
		p.aside(name, err.Error())
		return false
	}
	host := p.Hostname()
	c, err := p.Dial(uid)
	if err != nil {
		p.Log.Warn("maildrop: " + name + ": " + err.Error())
		return false
	}
	out, err := Submit(c, host, e, size, body, false)
	if errors.Is(err, ErrCorrupt) {
		p.aside(name, err.Error())
		return false
	}
	var re *ReplyError
	if errors.As(err, &re) && re.Reply.Permanent() && re.Stage != "greeting" && re.Stage != "EHLO" {
		// MAIL or the data refused for good: every recipient failed.
		out = &Outcome{Rcpts: make([]Reply, len(e.Rcpts))}
		for i := range out.Rcpts {
			out.Rcpts[i] = re.Reply
		}
		err = nil
	}
	if err != nil {
		p.Log.Warn(fmt.Sprintf("maildrop: %s (uid=%d from=<%s>): deferred: %v", name, uid, e.From, err))
		return false
	}
	var failed []int
	for i, r := range out.Rcpts {
		if r.Temporary() && !out.Accepted() {
			// Nothing was sent: try the whole file again later.
			p.Log.Info(fmt.Sprintf("maildrop: %s (uid=%d from=<%s>): deferred: <%s>: %s", name, uid, e.From, e.Rcpts[i].Addr, r))
			return false
		}
		if r.Code >= 400 {
			failed = append(failed, i)
		}
	}
	if len(failed) > 0 {
		if !p.bounce(name, uid, e, failed, out, path) {
			return false
		}
	}
	if err := os.Remove(path); err != nil {
		p.Log.Error("maildrop: " + name + ": delivered, but cannot remove the file (it will be delivered again): " + err.Error())
		return false
	}
	return out.Accepted()
}

func staleOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 24 * time.Hour
	}
	return d
}

// bounce tells the sender about refused recipients, as Postfix does for
// a message that was already accepted from the maildrop (RFC 3464). It
// reports false when the file must stay for another try. A temporary
// failure of a recipient the message was sent to (others accepted) is a
// failure too: the message cannot be sent to a subset again.
func (p *Picker) bounce(name string, uid int, e *Envelope, failed []int, out *Outcome, path string) bool {
	var rcpts []dsn.Recipient
	for _, i := range failed {
		r := out.Rcpts[i]
		p.Log.Info(fmt.Sprintf("maildrop: %s (uid=%d from=<%s>): to=<%s>, status=bounced (%s)", name, uid, e.From, e.Rcpts[i].Addr, r))
		if !wants(e.Rcpts[i].Notify, "FAILURE") {
			continue
		}
		rcpts = append(rcpts, dsn.Recipient{Final: e.Rcpts[i].Addr, Action: "failed", Status: r.Enhanced,
			RemoteMTA: p.Hostname(), Diagnostic: "smtp; " + r.String(), LastAttempt: time.Now()})
	}
	if len(rcpts) == 0 || e.From == "" {
		return true
	}
	orig, err := p.original(path)
	if err != nil {
		p.Log.Error("maildrop: " + name + ": bounce: " + err.Error())
		return false
	}
	if dsn.NeverBounce(e.From, orig) {
		return true
	}
	rep := &dsn.Report{Kind: dsn.Failure, ReportingMTA: p.Hostname(), EnvID: e.EnvID, To: e.From,
		Recipients: rcpts, Original: bytes.NewReader(orig), ReturnHeadersOnly: e.Ret == "HDRS", SMTPUTF8: e.SMTPUTF8}
	msg, err := rep.Build()
	if err != nil {
		p.Log.Error("maildrop: " + name + ": bounce: " + err.Error())
		return true // nothing a retry would change; logged
	}
	c, err := p.Dial(uid)
	if err != nil {
		p.Log.Warn("maildrop: " + name + ": bounce: " + err.Error())
		return false
	}
	be := &Envelope{Rcpts: []Rcpt{{Addr: e.From, Notify: []string{"NEVER"}}}, Body8: true, SMTPUTF8: e.SMTPUTF8}
	bo, err := Submit(c, p.Hostname(), be, int64(len(msg)), bytes.NewReader(msg), true)
	if err == nil && !bo.Accepted() && len(bo.Rcpts) == 1 && bo.Rcpts[0].Permanent() {
		p.Log.Warn(fmt.Sprintf("maildrop: %s: bounce to <%s> refused: %s", name, e.From, bo.Rcpts[0]))
		return true
	}
	if err != nil || !bo.Accepted() {
		p.Log.Warn(fmt.Sprintf("maildrop: %s: bounce to <%s> deferred: %v", name, e.From, err))
		return false
	}
	p.Log.Info(fmt.Sprintf("maildrop: %s: sender non-delivery notification: %s", name, bo.Data.Text))
	return true
}

// original reads the message of a maildrop file again, for a bounce.
func (p *Picker) original(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, _, body, err := ReadFile(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(body, dsn.DefaultMaxOriginal+1))
}

func wants(notify []string, what string) bool {
	if len(notify) == 0 {
		return what != "SUCCESS" // RFC 3461 4.1: the default is FAILURE (and DELAY)
	}
	for _, n := range notify {
		if strings.EqualFold(n, what) {
			return true
		}
	}
	return false
}

// aside moves a file the picker cannot use to the corrupt directory, so
// it is neither lost nor tried again.
func (p *Picker) aside(name, why string) {
	to := filepath.Join(p.Corrupt, name)
	if err := os.Rename(filepath.Join(p.Dir, name), to); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.Log.Error("maildrop: " + name + ": " + why + "; cannot move it aside: " + err.Error())
		}
		return
	}
	p.Log.Warn("maildrop: " + name + ": " + why + "; moved to " + to)
}
