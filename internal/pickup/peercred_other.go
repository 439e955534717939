//go:build !linux

package pickup

import (
	"errors"
	"net"
)

// peerUID is only implemented on Linux (SO_PEERCRED); elsewhere every
// connection is refused and sendmail uses the maildrop.
func peerUID(*net.UnixConn) (int, error) {
	return 0, errors.New("peer credentials are only read on Linux")
}
