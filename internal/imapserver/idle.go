package imapserver

import (
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

type lineResult struct {
	line string
	err  error
}

// cmdIdle serves IDLE (RFC 2177, RFC 9051 6.3.13): changes of the
// selected mailbox are pushed as they are committed, until DONE. The
// autologout timer bounds the wait.
func (s *session) cmdIdle(*imapwire.Command) result {
	s.update(true)
	if s.quit {
		return result{quiet: true}
	}
	s.w.Continuation("idling")
	if err := s.w.Flush(); err != nil {
		s.quit = true
		s.reason = "Connection closed"
		return result{quiet: true}
	}
	s.setReadDeadline()
	lines := make(chan lineResult, 1)
	go func() {
		// Without a read buffer until the client sends (iobuf.go).
		if err := s.awaitInput(); err != nil {
			lines <- lineResult{"", err}
			return
		}
		line, err := s.rd.ReadLine()
		lines <- lineResult{line, err}
	}()
	if s.notify != nil || len(s.contexts) > 0 {
		return s.notifyIdle(lines) // RFC 5465 4
	}
	// Nor a write buffer between the changes it pushes.
	s.parkWriter()
	defer s.unparkWriter()
	for {
		select {
		case r := <-lines:
			s.unparkWriter()
			switch {
			case r.err != nil:
				s.readFailed(r.err)
				s.quit = true
				return result{quiet: true}
			case strings.EqualFold(r.line, "DONE"):
				return done("Idle completed.")
			}
			return bad("Expected DONE.")
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil
				continue
			}
			s.unparkWriter()
			if s.idleEvent(ev) {
				return result{quiet: true}
			}
			s.parkWriter()
		case ev, ok := <-s.selEvents:
			// The owner of a selected folder of another mailbox.
			if !ok {
				s.selEvents = nil
				continue
			}
			s.unparkWriter()
			if s.idleEvent(ev) {
				return result{quiet: true}
			}
			s.parkWriter()
		}
	}
}

// idleEvent pushes one change to an idling client; it reports whether
// the session ends (the write failed or the session was told to quit),
// in which case closing the connection ends the reader goroutine.
func (s *session) idleEvent(ev store.Event) bool {
	s.takeEvent(ev, false)
	s.update(true)
	if err := s.w.Flush(); err != nil || s.quit {
		s.quit = true
		if s.reason == "" {
			s.reason = "Connection closed"
		}
		return true
	}
	return false
}
