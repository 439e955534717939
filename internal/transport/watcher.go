package transport

import (
	"os"
	"sync"
	"time"
)

// checkEvery is how often a Watcher looks at its file's mtime at most.
const checkEvery = time.Second

// Watcher keeps a table loaded from a file and reloads it when the file's
// modification time or size changes (looked at most once a second), so
// edits apply without a postmap step or restart. It is safe for
// concurrent use.
type Watcher struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	cur     *Table
	err     error // of the last failed load, while no table was ever loaded
	stamp   stamp // of the file last loaded (or tried)
	tried   bool
	checked time.Time
}

type stamp struct {
	mtime time.Time
	size  int64
}

// NewWatcher returns a watcher for path; the file is first read by Table.
func NewWatcher(path string) *Watcher {
	return &Watcher{path: path, now: time.Now}
}

// Path is the watched file.
func (w *Watcher) Path() string { return w.path }

// Table returns the current table. When a reload fails the previous table
// stays in use and the error is returned once, by the call that found it,
// alongside that table; while no table was ever loaded every call returns
// a nil table and the error.
func (w *Watcher) Table() (*Table, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if w.tried && now.Sub(w.checked) < checkEvery && now.Sub(w.checked) >= 0 {
		return w.cur, w.err
	}
	w.checked = now
	fi, err := os.Stat(w.path)
	if err != nil {
		return w.failed(stamp{}, err)
	}
	st := stamp{mtime: fi.ModTime(), size: fi.Size()}
	if w.tried && st == w.stamp {
		return w.cur, w.err
	}
	t, err := Load(w.path)
	if err != nil {
		return w.failed(st, err)
	}
	w.cur, w.err, w.stamp, w.tried = t, nil, st, true
	return t, nil
}

func (w *Watcher) failed(st stamp, err error) (*Table, error) {
	fresh := !w.tried || st != w.stamp
	w.stamp, w.tried = st, true
	if w.cur == nil {
		w.err = err
		return nil, err
	}
	if fresh {
		return w.cur, err
	}
	return w.cur, nil
}
