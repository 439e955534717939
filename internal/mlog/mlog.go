package mlog

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"mailwarden/internal/event"
)

// Handler is a slog.Handler that publishes each record as an event.Note,
// so code still logging through log/slog reaches the same subscribers as
// typed events. The "component" attribute names the program.
type Handler struct {
	pub   event.Publisher
	level slog.Leveler
	prog  event.Program
	attrs string
}

// NewHandler returns a handler publishing to pub records at or above level.
func NewHandler(pub event.Publisher, level slog.Leveler) *Handler {
	return &Handler{pub: pub, level: level, prog: event.Master}
}

// NewLogger returns a slog.Logger over NewHandler.
func NewLogger(pub event.Publisher, level slog.Leveler) *slog.Logger {
	return slog.New(NewHandler(pub, level))
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler; "component" names the program.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		if a.Key == "component" {
			n.prog = programOf(a.Value.String())
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
	prog := h.prog
	if r.NumAttrs() == 0 && h.attrs == "" {
		h.pub.Publish(&event.Note{Program: prog, Level: r.Level, Text: r.Message})
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "component" {
			prog = programOf(a.Value.String())
		} else {
			appendAttr(&b, a)
		}
		return true
	})
	h.pub.Publish(&event.Note{Program: prog, Level: r.Level, Text: b.String()})
	return nil
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

// programOf maps the component names used with Component to programs.
func programOf(name string) event.Program {
	switch name {
	case "submission":
		return event.Submission
	case "submissions":
		return event.Submissions
	case "local":
		return event.Virtual
	case "sendmail":
		return event.Pickup
	}
	return event.Program(name)
}

// Component returns a logger whose lines are tagged with the program name
// ("smtpd", "qmgr", "imap" ...).
func Component(l *slog.Logger, name string) *slog.Logger {
	return l.With(slog.String("component", name))
}
