package mlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/event"
)

// Options configure a Writer; they mirror the [log] section.
type Options struct {
	Host  string     // the host name in file lines
	Name  string     // syslog_name: "mailwarden" makes "mailwarden/smtpd"
	Level slog.Level // lines below it are dropped
	JSON  bool       // one JSON object per line instead of Postfix's format
	// File is a path to append to. Empty: Stderr, unless Syslog is set.
	File string
	// Syslog sends every line to the local syslog daemon (RFC 3164,
	// facility mail) with the program names as tags.
	Syslog bool
	// SyslogAddr is the datagram socket of the syslog daemon; "" is
	// /dev/log.
	SyslogAddr string
	Stderr     io.Writer // used when File is empty and Syslog is off
}

// Writer is the mail log: an event.Subscriber that writes one line per
// event to a file (reopened by Reopen, for logrotate), to standard error
// and/or to syslog.
type Writer struct {
	o    Options
	pid  int
	spid string

	mu   sync.Mutex
	file *os.File
	out  io.Writer // file or stderr; nil when only syslog
	sys  net.Conn  // nil when syslog is off or unreachable

	bufs sync.Pool
}

// Open starts a writer for o; it opens the file and connects to syslog.
func Open(o Options) (*Writer, error) {
	if o.Name == "" {
		o.Name = "mailwarden"
	}
	if o.SyslogAddr == "" {
		o.SyslogAddr = "/dev/log"
	}
	w := &Writer{o: o, pid: os.Getpid()}
	w.spid = strconv.Itoa(w.pid)
	w.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	switch {
	case o.File != "":
		f, err := openLog(o.File)
		if err != nil {
			return nil, err
		}
		w.file, w.out = f, f
	case !o.Syslog:
		w.out = o.Stderr
		if w.out == nil {
			w.out = os.Stderr
		}
	}
	if o.Syslog {
		c, err := net.Dial("unixgram", o.SyslogAddr)
		if err != nil {
			if w.file != nil {
				w.file.Close()
			}
			return nil, fmt.Errorf("log.syslog: %w", err)
		}
		w.sys = c
	}
	return w, nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log.file: %w", err)
	}
	return f, nil
}

// Reopen closes and reopens the log file (after logrotate moved it; the
// server calls it on SIGHUP) and reconnects to syslog. Lines written
// meanwhile go to the old file or the new one, none is lost.
func (w *Writer) Reopen() error {
	var errs []error
	if w.o.File != "" {
		f, err := openLog(w.o.File)
		if err != nil {
			errs = append(errs, err)
		} else {
			w.mu.Lock()
			old := w.file
			w.file, w.out = f, f
			w.mu.Unlock()
			errs = append(errs, old.Close())
		}
	}
	if w.o.Syslog {
		w.mu.Lock()
		errs = append(errs, w.redialLocked())
		w.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (w *Writer) redialLocked() error {
	if w.sys != nil {
		w.sys.Close()
		w.sys = nil
	}
	c, err := net.Dial("unixgram", w.o.SyslogAddr)
	if err != nil {
		return fmt.Errorf("log.syslog: %w", err)
	}
	w.sys = c
	return nil
}

// Close closes the file and the syslog connection.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	if w.file != nil {
		errs = append(errs, w.file.Close())
		w.file, w.out = nil, nil
	}
	if w.sys != nil {
		errs = append(errs, w.sys.Close())
		w.sys = nil
	}
	return errors.Join(errs...)
}

// Tag is the program name of ev's lines: "mailwarden/smtpd" for Postfix's
// programs, plain syslog_name for Dovecot's (whose text then starts with
// "imap-login: ", as Dovecot's own lines do).
func (w *Writer) Tag(p event.Program) string {
	if p.Dovecot() {
		return w.o.Name
	}
	return w.o.Name + "/" + string(p)
}

// Handle implements event.Subscriber: it writes ev's line, if it has one.
func (w *Writer) Handle(ev event.Event) {
	bp := w.bufs.Get().(*[]byte)
	defer w.bufs.Put(bp)
	b := (*bp)[:0]
	now := time.Now()
	prog := ev.Source()
	// The header of a file line; the text follows at start.
	b = now.AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, w.o.Host...)
	b = append(b, ' ')
	tagAt := len(b)
	b = append(b, w.o.Name...)
	if !prog.Dovecot() {
		b = append(b, '/')
		b = append(b, prog...)
	}
	tagEnd := len(b)
	b = append(b, '[')
	b = append(b, w.spid...)
	b = append(b, "]: "...)
	start := len(b)
	b, lvl, ok := AppendText(b, ev, w.pid)
	*bp = b
	if !ok || lvl < w.o.Level {
		return
	}
	clean(b[start:])
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.out != nil {
		if w.o.JSON {
			w.writeJSON(now, string(b[tagAt:tagEnd]), lvl, ev, b[start:])
		} else {
			b = append(b, '\n')
			*bp = b
			w.out.Write(b) //nolint:errcheck // nowhere to report a failing log
			b = b[:len(b)-1]
		}
	}
	if w.sys != nil {
		w.writeSyslog(now, lvl, b[tagAt:])
	}
}

// writeSyslog sends "<PRI>Mmm dd hh:mm:ss tag[pid]: text" (RFC 3164
// 4.1, as glibc's syslog(3) writes to /dev/log: no host name), facility
// mail (2). On failure it reconnects once (syslogd restarted).
func (w *Writer) writeSyslog(now time.Time, lvl slog.Level, tagged []byte) {
	sev := 6 // informational
	switch {
	case lvl >= slog.LevelError:
		sev = 3
	case lvl >= slog.LevelWarn:
		sev = 4
	case lvl < slog.LevelInfo:
		sev = 7
	}
	bp := w.bufs.Get().(*[]byte)
	defer w.bufs.Put(bp)
	m := append((*bp)[:0], '<')
	m = strconv.AppendInt(m, int64(2*8+sev), 10)
	m = append(m, '>')
	m = now.AppendFormat(m, time.Stamp)
	m = append(m, ' ')
	m = append(m, tagged...)
	*bp = m
	if _, err := w.sys.Write(m); err != nil {
		if w.redialLocked() == nil {
			w.sys.Write(m) //nolint:errcheck // a second failure drops the line
		}
	}
}

type jsonLine struct {
	Time    string `json:"time"`
	Host    string `json:"host"`
	Program string `json:"program"`
	PID     int    `json:"pid"`
	Level   string `json:"level"`
	Event   string `json:"event"`
	Text    string `json:"text"`
}

func (w *Writer) writeJSON(now time.Time, tag string, lvl slog.Level, ev event.Event, text []byte) {
	name := strings.TrimPrefix(fmt.Sprintf("%T", ev), "*event.")
	line, err := json.Marshal(jsonLine{Time: now.UTC().Format(time.RFC3339Nano), Host: w.o.Host, Program: tag,
		PID: w.pid, Level: lvl.String(), Event: name, Text: string(text)})
	if err != nil {
		return
	}
	w.out.Write(append(line, '\n')) //nolint:errcheck // nowhere to report a failing log
}

// clean replaces control characters with '?': text from clients (HELO,
// addresses, user names) must not forge a second log line.
func clean(b []byte) {
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
}

// New returns a bus whose only subscriber writes Postfix-style lines to
// w, and a slog logger publishing notes on it: the log of tests and tools.
func New(w io.Writer, host string, level slog.Level) (*event.Bus, *slog.Logger) {
	wr := &Writer{o: Options{Host: host, Name: "mailwarden", Level: level}, pid: os.Getpid(), out: w}
	wr.spid = strconv.Itoa(wr.pid)
	wr.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	bus := event.NewBus(wr)
	return bus, NewLogger(bus, level)
}
