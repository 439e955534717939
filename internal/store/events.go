package store

import "sync"

// EventKind says what changed.
type EventKind int

const (
	// EventAdded: messages UIDs were added to Folder.
	EventAdded EventKind = iota + 1
	// EventExpunged: messages UIDs were removed from Folder.
	EventExpunged
	// EventFlags: the flags of messages UIDs changed.
	EventFlags
	// EventFolders: a folder was created, renamed or deleted (Folder is
	// the new name, or the deleted one).
	EventFolders
	// EventResync: events were dropped because the receiver was too slow;
	// it must re-read the state it shows (Changes since its last MODSEQ).
	EventResync
	// EventSubscription: the subscription of name Folder was added or
	// removed (IMAP NOTIFY's SubscriptionChange, RFC 5465 5.5).
	EventSubscription
	// EventMetadata: METADATA entries of Folder ("" the server) changed
	// (IMAP NOTIFY's MailboxMetadataChange and ServerMetadataChange,
	// RFC 5465 5.9, 5.10); Meta says which.
	EventMetadata
)

func (k EventKind) String() string {
	switch k {
	case EventAdded:
		return "added"
	case EventExpunged:
		return "expunged"
	case EventFlags:
		return "flags"
	case EventFolders:
		return "folders"
	case EventResync:
		return "resync"
	case EventSubscription:
		return "subscription"
	case EventMetadata:
		return "metadata"
	}
	return "unknown"
}

// Event is one committed change of a mailbox, published in-process after
// the commit so that IDLE and other sessions learn of it.
type Event struct {
	Username, Folder string
	Kind             EventKind
	UIDs             []int64
	ModSeq           int64       // the folder's HIGHESTMODSEQ after the change
	Meta             *MetaChange // of EventMetadata
}

// MetaChange is what an EventMetadata changed: entries (names only, RFC
// 5464 4.4.2) of Owner's folder Event.Folder, or of the server. Shared
// entries go to the watchers of Owner, for everyone who may read the
// folder; Private ones go to the watchers of the user whose entries
// they are (Event.Username) and concern that user alone.
type MetaChange struct {
	Owner   string
	Private bool
	Entries []string
}

// watchBuffer is how many events a slow watcher may have pending before
// it is told to resync instead. Every IMAP session has a watcher, idle
// ones included, and the buffer is allocated whole (80 bytes an event):
// 32 keeps it at 2.5 KB, and a resync costs the watcher one query.
const watchBuffer = 32

type watcher struct {
	ch chan Event
}

// hub fans events out to the watchers of each username.
type hub struct {
	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{}
}

// Watch returns a channel receiving the events of username's mailbox and
// a function that stops them and closes the channel. Publishers never
// block: when the channel is full its pending events are replaced by one
// EventResync.
func (s *Store) Watch(username string) (events <-chan Event, cancel func()) {
	w := &watcher{ch: make(chan Event, watchBuffer)}
	h := &s.hub
	h.mu.Lock()
	if h.watchers == nil {
		h.watchers = map[string]map[*watcher]struct{}{}
	}
	if h.watchers[username] == nil {
		h.watchers[username] = map[*watcher]struct{}{}
	}
	h.watchers[username][w] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.watchers[username], w)
			if len(h.watchers[username]) == 0 {
				delete(h.watchers, username)
			}
			close(w.ch)
			h.mu.Unlock()
		})
	}
}

// publish hands ev to every watcher of ev.Username without blocking.
func (s *Store) publish(ev Event) {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers[ev.Username] {
		select {
		case w.ch <- ev:
			continue
		default:
		}
		// Full: what is pending is stale anyway, so drop it and make the
		// next receive a resync. The receiver may drain concurrently,
		// which only makes room.
	drain:
		for {
			select {
			case <-w.ch:
			default:
				break drain
			}
		}
		select {
		case w.ch <- Event{Username: ev.Username, Folder: ev.Folder, Kind: EventResync, ModSeq: ev.ModSeq}:
		default:
		}
	}
}

// locks serialise the operations that rename or remove message files of
// a folder (so that a file's name on disk follows its index row), and
// folder operations against message operations of the same user.
type locks struct {
	users sync.Map // username -> *sync.RWMutex
	dirs  sync.Map // username + "\x00" + folder -> *sync.Mutex
}

// folder locks one folder for a message operation; call the result to unlock.
func (l *locks) folder(username, folder string) func() {
	u := l.user(username)
	u.RLock()
	v, _ := l.dirs.LoadOrStore(username+"\x00"+folder, new(sync.Mutex))
	m := v.(*sync.Mutex)
	m.Lock()
	return func() { m.Unlock(); u.RUnlock() }
}

// tree locks all folders of a user, for create, rename and delete.
func (l *locks) tree(username string) func() {
	u := l.user(username)
	u.Lock()
	return u.Unlock
}

func (l *locks) user(username string) *sync.RWMutex {
	v, _ := l.users.LoadOrStore(username, new(sync.RWMutex))
	return v.(*sync.RWMutex)
}

// transfer locks the source folder of a COPY or MOVE, and the mailbox of
// the destination against folder renames and deletes when it is another
// user's; user locks are taken in name order, so that transfers in
// opposite directions cannot deadlock.
func (l *locks) transfer(username, folder, dstUser string) func() {
	if dstUser == username {
		return l.folder(username, folder)
	}
	d := l.user(dstUser)
	if dstUser < username {
		d.RLock()
		unlock := l.folder(username, folder)
		return func() { unlock(); d.RUnlock() }
	}
	unlock := l.folder(username, folder)
	d.RLock()
	return func() { d.RUnlock(); unlock() }
}
