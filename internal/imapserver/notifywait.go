package imapserver

import (
	"reflect"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// Notifications between commands (RFC 5465 1, RFC 5267 4.3.2): with
// NOTIFY or an updating context, the session waits for the next command
// on a helper goroutine that only peeks at the input, while the session
// goroutine sends what the store reports. The helper ends when a byte
// arrives or the read fails (deadline, kick, close), so at most one
// lives per session, and only while it waits.

// takeEvent notes one event of the session's watches: through NOTIFY
// when it is on, else for the selected mailbox alone.
func (s *session) takeEvent(ev store.Event, fromSel bool) {
	if s.notify != nil {
		s.notifyNote(ev, fromSel)
		return
	}
	s.noteEvent(ev)
}

// pushing reports whether the session sends notifications on its own.
// It ends the contexts of a mailbox closed meanwhile (CLOSE, UNSELECT),
// so that they do not keep its view.
func (s *session) pushing() bool {
	if len(s.contexts) > 0 {
		s.dropStaleContexts()
	}
	n := s.notify
	return n != nil && (n.sel != nil || len(n.filters) > 0) || len(s.contexts) > 0
}

// selectCases are the session's watches (own mailbox, the selected
// folder's owner, NOTIFY's other owners) after first.
func (s *session) selectCases(first reflect.Value) []reflect.SelectCase {
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: first}}
	add := func(ch <-chan store.Event) {
		if ch != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
	}
	add(s.events)
	add(s.selEvents)
	if s.notify != nil {
		for _, w := range s.notify.owners {
			add(w.events)
		}
	}
	return cases
}

// receive handles what the case chosen of selectCases delivered (not
// the first case).
func (s *session) receive(cases []reflect.SelectCase, i int, v reflect.Value, ok bool) {
	ch := cases[i].Chan.Interface().(<-chan store.Event)
	if !ok {
		switch ch {
		case s.events:
			s.events = nil
		case s.selEvents:
			s.selEvents = nil
		}
		return
	}
	s.takeEvent(v.Interface().(store.Event), ch == s.selEvents && ch != s.events)
}

// notifyDrain takes every event already waiting on the watches.
func (s *session) notifyDrain() {
	for {
		cases := s.selectCases(reflect.ValueOf((chan struct{})(nil)))
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectDefault})
		i, v, ok := reflect.Select(cases)
		if i == len(cases)-1 {
			return
		}
		s.receive(cases, i, v, ok)
	}
}

// pushExpunges reports whether expunges may go out with no command in
// progress: only to a client that asked for them with SELECTED (RFC
// 5465 5.3, 6.1.1); others get them at the end of a command (RFC 9051
// 7.4.1).
func (s *session) pushExpunges() bool {
	return s.notify != nil && s.notify.sel != nil && !s.notify.sel.delayed
}

// push sends the notifications the events taken so far call for.
func (s *session) push(expunge bool) {
	s.notifyDrain()
	if s.notify != nil {
		s.notifyFlush(expunge)
	}
	if len(s.contexts) > 0 && s.sel != nil {
		s.syncView(expunge)
	}
}

// waitCommand waits until the client sends something, pushing
// notifications meanwhile; false ends the session.
func (s *session) waitCommand() bool {
	ready := make(chan error, 1)
	go func() {
		_, err := s.br.Peek(1)
		ready <- err
	}()
	for {
		cases := s.selectCases(reflect.ValueOf(ready))
		i, v, ok := reflect.Select(cases)
		if i == 0 {
			if err, _ := v.Interface().(error); err != nil {
				s.readFailed(err)
				return false
			}
			return true
		}
		s.receive(cases, i, v, ok)
		s.push(s.pushExpunges())
		if err := s.w.Flush(); err != nil || s.quit {
			if s.reason == "" {
				s.reason = "Connection closed"
			}
			return false
		}
	}
}

// notifyIdle is IDLE with NOTIFY or updating contexts: the events
// NOTIFY asked for, and context updates, until DONE (RFC 5465 4).
func (s *session) notifyIdle(lines chan lineResult) result {
	// What the update before the continuation took but did not send.
	s.push(true)
	if err := s.w.Flush(); err != nil || s.quit {
		s.quit = true
		if s.reason == "" {
			s.reason = "Connection closed"
		}
		return result{quiet: true}
	}
	for {
		cases := s.selectCases(reflect.ValueOf(lines))
		i, v, ok := reflect.Select(cases)
		if i == 0 {
			r := v.Interface().(lineResult)
			switch {
			case r.err != nil:
				s.readFailed(r.err)
				s.quit = true
				return result{quiet: true}
			case strings.EqualFold(r.line, "DONE"):
				return done("Idle completed.")
			}
			return bad("Expected DONE.")
		}
		s.receive(cases, i, v, ok)
		s.push(true)
		if err := s.w.Flush(); err != nil || s.quit {
			s.quit = true
			if s.reason == "" {
				s.reason = "Connection closed"
			}
			return result{quiet: true}
		}
	}
}

// endCommand sends the updates RFC 9051 7 allows at the end of a
// command, and with NOTIFY what else happened meanwhile, leaving out
// what the command itself did (notifySelf).
func (s *session) endCommand(c *imapwire.Command, expunge bool) {
	if !s.pushing() {
		s.update(expunge)
		return
	}
	if s.notify != nil {
		s.notifySelf(c)
	}
	s.notifyDrain()
	s.syncView(expunge)
	if s.notify != nil {
		s.notifyFlush(expunge)
	}
}
