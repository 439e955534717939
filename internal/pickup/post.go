package pickup

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Message is a message to post: it can be read more than once (a refused
// socket connection falls back to the maildrop).
type Message interface {
	Reader() io.Reader
	Size() int64
}

// Posted says where Post left a message.
type Posted struct {
	// Outcome is the server's answer when it was running; nil when the
	// message went to the maildrop.
	Outcome *Outcome
	// Dropped is the maildrop file's name when the server was not
	// running.
	Dropped string
}

// Post hands a message to the server of dataDir, as sendmail does: over
// the socket when the server is running (allOrNothing: a refused
// recipient means nothing is delivered, and the Outcome says why), else
// into the maildrop, for the server to pick up when it starts. Only a
// server that is not there (no socket, connection refused) or that turns
// the connection away at the greeting with a 4xx (too many connections,
// shutting down) makes Post use the maildrop; every other failure is
// returned. On a *ReplyError or an I/O error after the greeting the
// message was not delivered.
func Post(dataDir, helo string, e *Envelope, msg Message) (*Posted, error) {
	c, err := net.DialTimeout("unix", SocketPath(dataDir), 10*time.Second)
	if err == nil {
		out, err := Submit(c, helo, e, msg.Size(), msg.Reader(), true)
		var re *ReplyError
		if !errors.As(err, &re) || re.Stage != "greeting" || !re.Reply.Temporary() {
			return &Posted{Outcome: out}, err
		}
	} else if !serverAbsent(err) {
		return nil, err
	}
	name, err := Drop(MaildropDir(dataDir), e, msg.Size(), msg.Reader())
	if err != nil {
		return nil, err
	}
	return &Posted{Dropped: name}, nil
}

// serverAbsent reports a dial error that means no server is listening.
func serverAbsent(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
