package pickup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Modes of what Prepare creates. The data directory must be searchable
// (not readable) by local users so they can reach the socket and the
// maildrop; everything else in it stays private to the server (0700
// directories, the database 0600).
const (
	// DataDirMode bits Prepare adds to data_dir: search for group and
	// others (Postfix's queue_directory is 0755).
	DataDirMode fs.FileMode = 0o011
	// RunDirMode is data_dir/run, owned by the server.
	RunDirMode fs.FileMode = 0o755
	// SocketMode is data_dir/run/submit.sock: every local user may submit.
	SocketMode fs.FileMode = 0o666
	// MaildropMode is data_dir/maildrop: like /tmp without the listing
	// (sticky, write and search for everyone, read for the owner only),
	// so users can drop files they cannot see or remove each other's.
	MaildropMode fs.FileMode = fs.ModeSticky | 0o733
	// CorruptDirMode is data_dir/maildrop/corrupt, for files the picker
	// could not read; only the server looks in it.
	CorruptDirMode fs.FileMode = 0o700
)

// SocketPath is the submission socket of a data directory.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, "run", "submit.sock") }

// MaildropDir is the maildrop directory of a data directory.
func MaildropDir(dataDir string) string { return filepath.Join(dataDir, "maildrop") }

// CorruptDir is where the picker moves files it cannot use.
func CorruptDir(dataDir string) string { return filepath.Join(MaildropDir(dataDir), "corrupt") }

// Prepare makes the run and maildrop directories of dataDir with their
// modes (whatever the umask) and makes dataDir searchable by everyone.
// The server calls it at start; it returns the changes it made, for the
// log.
func Prepare(dataDir string) (notes []string, err error) {
	st, err := os.Stat(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pickup: %w", err)
	}
	if m := st.Mode().Perm(); m&DataDirMode != DataDirMode {
		if err := os.Chmod(dataDir, m|DataDirMode); err != nil {
			return nil, fmt.Errorf("pickup: make data_dir searchable for local users: %w", err)
		}
		notes = append(notes, fmt.Sprintf("data_dir %s: mode %04o -> %04o so local users reach run/ and maildrop/", dataDir, m, m|DataDirMode))
	}
	// Now that others may search data_dir, nothing else in it may be open
	// to them: the database, its WAL (SQLite gives it the database's
	// mode), the queue, the Maildirs.
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pickup: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "run" || e.Name() == "maildrop" || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		p := filepath.Join(dataDir, e.Name())
		info, err := os.Lstat(p)
		if err != nil {
			continue // removed meanwhile
		}
		if m := info.Mode().Perm(); m&0o077 != 0 {
			if err := os.Chmod(p, m&0o700); err != nil {
				return nil, fmt.Errorf("pickup: make %s private: %w", p, err)
			}
			notes = append(notes, fmt.Sprintf("%s: mode %04o -> %04o", p, m, m&0o700))
		}
	}
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{
		{filepath.Dir(SocketPath(dataDir)), RunDirMode},
		{MaildropDir(dataDir), MaildropMode},
		{CorruptDir(dataDir), CorruptDirMode},
	} {
		if err := os.Mkdir(d.path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("pickup: %w", err)
		}
		st, err := os.Lstat(d.path)
		if err != nil {
			return nil, fmt.Errorf("pickup: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("pickup: %s is not a directory", d.path)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
			return nil, fmt.Errorf("pickup: %s belongs to uid %d, not to the server (uid %d): fix its owner", d.path, sys.Uid, os.Geteuid())
		}
		if st.Mode()&(fs.ModePerm|fs.ModeSticky) != d.mode {
			if err := os.Chmod(d.path, d.mode); err != nil {
				return nil, fmt.Errorf("pickup: %w", err)
			}
		}
	}
	return notes, nil
}
