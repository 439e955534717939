package pickup

import (
	"golang.org/x/sys/unix"
)

// watch calls wake whenever a file in dir is closed after writing,
// changes its mode (Drop's final chmod) or is moved in (inotify(7)). The
// timer scan stays: events can be lost (queue overflow).
func watch(dir string, wake func()) (stop func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_ATTRIB|unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Closing an inotify fd does not wake a blocked read(2): a pipe does.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(fd)
		return nil, err
	}
	go func() {
		defer unix.Close(fd)
		defer unix.Close(p[0])
		buf := make([]byte, 4096)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(p[0]), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != nil {
				if err == unix.EINTR {
					continue
				}
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents&unix.POLLIN != 0 {
				if _, err := unix.Read(fd, buf); err != nil && err != unix.EINTR && err != unix.EAGAIN {
					return
				}
				wake()
			}
		}
	}()
	return func() { unix.Write(p[1], []byte{0}); unix.Close(p[1]) }, nil
}
