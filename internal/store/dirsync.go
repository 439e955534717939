package store

import (
	"os"
	"sync"
)

// dirSyncer fsyncs directories with group commit: a caller whose rename
// happened before an fsync of the same directory began needs no fsync of
// its own.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState
}

type dirState struct {
	cond    *sync.Cond
	next    uint64 // tickets handed out
	covered uint64 // tickets below this are durable
	running bool
	users   int
}

func (d *dirSyncer) sync(path string) error {
	d.mu.Lock()
	if d.dirs == nil {
		d.dirs = map[string]*dirState{}
	}
	st := d.dirs[path]
	if st == nil {
		st = &dirState{cond: sync.NewCond(&d.mu)}
		d.dirs[path] = st
	}
	st.users++
	ticket := st.next
	st.next++
	var err error
	for st.covered <= ticket {
		if st.running {
			st.cond.Wait()
			continue
		}
		st.running = true
		upto := st.next
		d.mu.Unlock()
		err = fsyncDir(path)
		d.mu.Lock()
		st.running = false
		if err == nil {
			st.covered = upto
		}
		st.cond.Broadcast()
		if err != nil {
			break
		}
	}
	st.users--
	if st.users == 0 && !st.running {
		delete(d.dirs, path)
	}
	d.mu.Unlock()
	return err
}

func fsyncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
