package smtpclient

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestNetErrText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, "Connection refused"},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, "Connection reset by peer"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, "Connection timed out"},
		{errors.New("smtp: bad greeting"), "smtp: bad greeting"},
	} {
		if got := netErrText(tc.err); got != tc.want {
			t.Errorf("netErrText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
