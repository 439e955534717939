//go:build !linux

package pickup

import "errors"

// watch is only implemented on Linux; elsewhere the timer scan alone
// picks files up.
func watch(string, func()) (func(), error) {
	return nil, errors.New("inotify is Linux only")
}
