package mlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler is a slog.Handler producing Postfix-style lines.
type Handler struct {
	mu        *sync.Mutex
	w         io.Writer
	level     slog.Leveler
	host      string
	pid       string
	component string
	attrs     string
}

// New returns a handler writing to w for the given host name.
func New(w io.Writer, host string, level slog.Leveler) *Handler {
	return &Handler{mu: &sync.Mutex{}, w: w, level: level, host: host, pid: strconv.Itoa(os.Getpid()), component: "mailwarden"}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler; "component" names the daemon part.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		if a.Key == "component" {
			n.component = "mailwarden/" + a.Value.String()
			continue
		}
		appendAttr(&b, a)
	}
	n.attrs = b.String()
	return &n
}

// WithGroup implements slog.Handler (groups are flattened).
func (h *Handler) WithGroup(string) slog.Handler { return h }

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteByte(' ')
	b.WriteString(h.host)
	b.WriteByte(' ')
	comp := h.component
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "component" {
			comp = "mailwarden/" + a.Value.String()
		}
		return true
	})
	b.WriteString(comp)
	b.WriteString("[" + h.pid + "]: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "component" {
			appendAttr(&b, a)
		}
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func appendAttr(b *strings.Builder, a slog.Attr) {
	v := a.Value.Resolve().String()
	b.WriteString(" " + a.Key + "=")
	if v == "" || strings.ContainsAny(v, " \t\"=") {
		b.WriteString(strconv.Quote(v))
	} else {
		b.WriteString(v)
	}
}

// Component returns a logger whose lines are tagged mailwarden/name.
func Component(l *slog.Logger, name string) *slog.Logger {
	return l.With(slog.String("component", name))
}
