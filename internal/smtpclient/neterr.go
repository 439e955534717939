package smtpclient

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// netErrText words a network error as Postfix's smtp client does in a
// bounce or deferral ("Connection refused", "Connection timed out"),
// without Go's "dial tcp 192.0.2.1:25: connect:" prefix (the relay is
// named beside it already).
func netErrText(err error) string {
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &errno):
		t := errno.Error()
		if t == "" {
			return err.Error()
		}
		return string(t[0]-'a'+'A') + t[1:]
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "Connection timed out"
	case errors.Is(err, net.ErrClosed):
		return "Connection closed"
	}
	return err.Error()
}
