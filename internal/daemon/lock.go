package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PidFile is the lock and pid file of a data directory.
func PidFile(dataDir string) string { return filepath.Join(dataDir, "mailwarden.pid") }

// HeldError is returned by Acquire when another process holds the lock.
type HeldError struct {
	DataDir string
	Pid     int // 0 when the file did not say
}

func (e *HeldError) Error() string {
	who := "another mailwarden"
	if e.Pid > 0 {
		who += " (pid " + strconv.Itoa(e.Pid) + ")"
	}
	return fmt.Sprintf("%s is already serving data_dir %s — stop it first (mailwarden stop), or give this one another data_dir", who, e.DataDir)
}

// Lock is a held data-directory lock.
type Lock struct{ f *os.File }

// Acquire takes the lock of dataDir without waiting and writes this
// process's pid into it. The lock is the flock on the open file, not the
// file's existence: it goes with the process, however that ends, and the
// file is never deleted (so no process can remove the lock of another).
func Acquire(dataDir string) (*Lock, error) {
	f, err := os.OpenFile(PidFile(dataDir), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := readPid(PidFile(dataDir))
			return nil, &HeldError{DataDir: dataDir, Pid: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	return &Lock{f: f}, nil
}

// Release empties the pid file and drops the lock.
func (l *Lock) Release() error {
	l.f.Truncate(0)
	return l.f.Close()
}

// Running reports the pid of the server holding dataDir's lock; ok is
// false when none does (no file, or a file nobody holds: a stopped or
// crashed server's).
func Running(dataDir string) (pid int, ok bool, err error) {
	f, err := os.Open(PidFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return 0, false, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	pid, err = readPid(f.Name())
	return pid, true, err
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("lock: %s holds no pid (%q)", path, b)
	}
	return pid, nil
}
