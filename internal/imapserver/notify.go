package imapserver

import (
	"errors"
	"slices"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// NOTIFY (RFC 5465): the client names the mailboxes and events it wants
// to hear of, and the server sends them as they happen, between
// commands as well as in IDLE (notifywait.go). The events come from the
// same store watches IDLE uses: the user's own (s.events), the owner of
// a selected folder of another mailbox (s.selEvents), and one watch per
// other owner whose shared folders a filter names (notifyState.owners).
// Nothing per watched folder is kept but the names MailboxName and
// SubscriptionChange compare against.

// Limits of one session's NOTIFY.
const (
	// maxNotifyOwners bounds the other mailboxes watched; more is
	// refused with NOTIFICATIONOVERFLOW (RFC 5465 3.1).
	maxNotifyOwners = 16
	// maxNotifyPending bounds the mailboxes with a notification not yet
	// sent; more, or a store watch that overflowed, ends NOTIFY with
	// NOTIFICATIONOVERFLOW (RFC 5465 5.8).
	maxNotifyPending = 1024
)

// notifySupported are the events BADEVENT lists (RFC 5465 3.1: all the
// server supports).
var notifySupported = []string{"MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange",
	"MailboxMetadataChange", "ServerMetadataChange"}

// selNotify is what the client wants of the selected mailbox (RFC 5465
// 6.1).
type selNotify struct {
	delayed bool                 // SELECTED-DELAYED: expunges wait for a command
	flags   bool                 // FlagChange
	fetch   []imapwire.FetchItem // of MessageNew
}

// notifyFilter is one event group for other mailboxes (RFC 5465 6.2-6.6).
type notifyFilter struct {
	kind    string   // INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES
	names   []string // store-form IMAP names of SUBTREE and MAILBOXES
	message bool     // MessageNew and MessageExpunge
	flags   bool     // FlagChange
	mbName  bool     // MailboxName
	subs    bool     // SubscriptionChange
	meta    bool     // MailboxMetadataChange
}

// ownerWatch is the store watch of another mailbox.
type ownerWatch struct {
	events <-chan store.Event
	stop   func()
}

// pending notification kinds of one mailbox.
const (
	pendMessages uint8 = 1 << iota // MESSAGES and UIDNEXT changed
	pendFlags                      // HIGHESTMODSEQ changed
)

type mboxKey struct{ owner, folder string }

// notifyState is the session's NOTIFY SET; a NOTIFY NONE is one with
// nothing in it (IDLE then sends nothing either, RFC 5465 4).
type notifyState struct {
	sel     *selNotify
	filters []notifyFilter
	owners  map[string]ownerWatch
	// known are the names MailboxName compares with (store-form IMAP
	// names), subs the subscribed names (SUBSCRIBED, SubscriptionChange).
	known, subs map[string]bool
	pending     map[mboxKey]uint8
	folders     bool // the folder list of some mailbox changed
	subsChanged bool
	selPush     bool // the selected mailbox changed
	overflow    bool
	// serverMeta is ServerMetadataChange (any group: it names no
	// mailbox, RFC 5465 5.10); meta the entries changed, by mailbox
	// (mboxKey{} for the server), metaCount how many (notifymeta.go).
	serverMeta bool
	meta       map[mboxKey]map[string]bool
	metaCount  int
}

func (n *notifyState) stop() {
	for _, w := range n.owners {
		w.stop()
	}
	n.owners = nil
}

// wants reports whether some filter asks for what f selects.
func (n *notifyState) wants(f func(*notifyFilter) bool) bool {
	return slices.ContainsFunc(n.filters, func(x notifyFilter) bool { return f(&x) })
}

// cmdNotify serves NOTIFY (RFC 5465 3.1).
func (s *session) cmdNotify(c *imapwire.Command) result {
	a := c.Args.(*imapwire.NotifyArgs)
	if a.None {
		s.stopNotify()
		s.notify = &notifyState{}
		return done("NOTIFY completed.")
	}
	n := &notifyState{}
	var bad []string
	for _, g := range a.Groups {
		f := notifyFilter{kind: g.Filter}
		var sel *selNotify
		if strings.HasPrefix(g.Filter, "SELECTED") {
			sel = &selNotify{delayed: g.Filter == "SELECTED-DELAYED"}
		}
		for _, ev := range g.Events {
			switch ev.Name {
			case "MessageNew":
				f.message = true
				if sel != nil {
					sel.fetch = ev.Fetch
				}
			case "MessageExpunge":
				f.message = true
			case "FlagChange":
				f.flags = true
			case "MailboxName":
				f.mbName = true
			case "SubscriptionChange":
				f.subs = true
			case "MailboxMetadataChange":
				f.meta = true // RFC 5465 5.9
			case "ServerMetadataChange":
				n.serverMeta = true // RFC 5465 5.10
			default:
				// AnnotationChange (no ANNOTATE) and any extension:
				// RFC 5465 3.1 BADEVENT.
				if !slices.Contains(bad, ev.Name) {
					bad = append(bad, ev.Name)
				}
			}
		}
		if sel != nil {
			if f.message {
				sel.flags = f.flags
				n.sel = sel
			}
			continue
		}
		for _, m := range g.Mailboxes {
			name, ok := s.storeName(m)
			if !ok {
				return badName()
			}
			f.names = append(f.names, name)
		}
		n.filters = append(n.filters, f)
	}
	if len(bad) > 0 {
		return fail("BADEVENT ("+strings.Join(notifySupported, " ")+")", "Unsupported NOTIFY events.")
	}
	if err := s.notifyLoad(n); err != nil {
		if errors.Is(err, errTooManyOwners) {
			return fail("NOTIFICATIONOVERFLOW", "Too many mailboxes of other users to watch.")
		}
		return s.storeFail("NOTIFY", err, false)
	}
	s.stopNotify()
	s.notify = n
	// RFC 5465 3.1: a successful NOTIFY SET is an implicit NOOP (exec
	// sends the updates), and with STATUS the state of every mailbox
	// watched for message events comes first.
	if a.Status {
		if err := s.notifyStatusAll(n); err != nil {
			return s.storeFail("NOTIFY", err, false)
		}
	}
	return done("NOTIFY completed.")
}

func (s *session) stopNotify() {
	if s.notify != nil {
		s.notify.stop()
		s.notify = nil
	}
}

var errTooManyOwners = errors.New("imap: notify: too many other users' mailboxes to watch")

// notifyLoad reads what the filters compare with (folder names,
// subscriptions) and starts watching the other mailboxes they name.
func (s *session) notifyLoad(n *notifyState) error {
	if n.wants(func(f *notifyFilter) bool { return f.kind == "SUBSCRIBED" || f.subs }) {
		subs, err := s.subscribedNames()
		if err != nil {
			return err
		}
		n.subs = subs
	}
	visible, err := s.visibleNames(n)
	if err != nil {
		return err
	}
	if n.wants(func(f *notifyFilter) bool { return f.mbName }) {
		n.known = map[string]bool{}
		for name := range visible {
			n.known[name] = true
		}
	}
	n.owners = map[string]ownerWatch{}
	for _, p := range visible {
		o := p.owner.Username
		if o == s.acct.Username {
			continue
		}
		if _, ok := n.owners[o]; ok {
			continue
		}
		if len(n.owners) >= maxNotifyOwners {
			n.stop()
			return errTooManyOwners
		}
		ch, stop := s.srv.o.Store.Watch(o)
		n.owners[o] = ownerWatch{ch, stop}
	}
	return nil
}

// subscribedNames are the user's subscriptions: its own subscribed
// folders, kept subscriptions of deleted ones and names of other
// mailboxes (store-form IMAP names).
func (s *session) subscribedNames() (map[string]bool, error) {
	folders, err := s.srv.o.Store.ListFolders(s.ctx, s.acct)
	if err != nil {
		return nil, err
	}
	subs, err := s.srv.o.Store.Subscriptions(s.ctx, s.acct)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range folders {
		if f.Subscribed {
			out[f.Name] = true
		}
	}
	for _, n := range subs {
		out[n] = true
	}
	return out, nil
}

// visibleNames are the mailboxes some filter of n selects that the user
// may see (RFC 4314 "l"), by store-form IMAP name: its own folders and
// the folders of other mailboxes shared with it.
func (s *session) visibleNames(n *notifyState) (map[string]place, error) {
	out := map[string]place{}
	folders, err := s.srv.o.Store.ListFolders(s.ctx, s.acct)
	if err != nil {
		return nil, err
	}
	for _, f := range folders {
		if s.notifyMatch(n, f.Name) != nil {
			out[f.Name] = s.personal(f.Name)
		}
	}
	if !n.wants(func(f *notifyFilter) bool {
		return f.kind == "SUBTREE" || f.kind == "MAILBOXES" || f.kind == "SUBSCRIBED"
	}) {
		return out, nil
	}
	nodes, err := s.sharedNodes(nil)
	if err != nil {
		return nil, err
	}
	for _, nd := range nodes {
		if nd.info == nil || !nd.rights.Has(acl.Lookup) || s.notifyMatch(n, nd.name) == nil {
			continue
		}
		p, err := s.locate(nd.name, true)
		if err != nil {
			continue // gone meanwhile
		}
		out[nd.name] = p
	}
	return out, nil
}

// allVisible is every mailbox the user may see, whatever the filters:
// what the attributes of a LIST notification are computed from.
func (s *session) allVisible() (map[string]place, error) {
	return s.visibleNames(&notifyState{filters: []notifyFilter{
		{kind: "PERSONAL"}, {kind: "SUBTREE", names: []string{otherUsersRoot, sharedRoot}}}})
}

// notifyMatch returns the first filter of n that selects the mailbox
// name (store-form IMAP name), or nil (RFC 5465 6.2-6.6).
func (s *session) notifyMatch(n *notifyState, name string) *notifyFilter {
	_, _, _, shared := splitShared(name)
	for i := range n.filters {
		f := &n.filters[i]
		switch f.kind {
		case "PERSONAL", "INBOXES":
			// RFC 5465 6.3: Sieve may file mail into any folder, so the
			// inboxes are all personal folders.
			if !shared {
				return f
			}
		case "SUBSCRIBED":
			if n.subs[name] {
				return f
			}
		case "MAILBOXES":
			if slices.Contains(f.names, name) {
				return f
			}
		case "SUBTREE":
			for _, root := range f.names {
				if name == root || strings.HasPrefix(name, root+store.Delimiter) || strings.HasPrefix(name, root+sharedDelim) {
					return f
				}
			}
		}
	}
	return nil
}

// notifyStatusAll sends the STATUS of every mailbox a filter watches for
// message events (NOTIFY SET STATUS, RFC 5465 3.1).
func (s *session) notifyStatusAll(n *notifyState) error {
	visible, err := s.visibleNames(n)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(visible))
	for name := range visible {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := s.notifyMatch(n, name)
		if f == nil || !(f.message || f.flags) || (s.sel != nil && s.sel.full == name) {
			continue
		}
		p := visible[name]
		if !p.rights.Has(acl.Read) {
			continue
		}
		info, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder)
		if err != nil {
			continue // deleted meanwhile
		}
		items := []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY"}
		if f.flags && s.condstore {
			items = append(items, "HIGHESTMODSEQ")
		}
		s.writeStatus(name, info, items)
	}
	return nil
}

// notifyNote records one store event for NOTIFY; fromSel is set for the
// events of the selected folder's owner watch, which matter here only
// for the selected mailbox (another watch brings the rest).
func (s *session) notifyNote(ev store.Event, fromSel bool) {
	n := s.notify
	s.noteEvent(ev)
	if n == nil || n.overflow {
		return
	}
	if ev.Kind == store.EventResync {
		// RFC 5465 5.8: events were lost, the client is too far behind.
		n.overflow = true
		return
	}
	if ev.Kind == store.EventMetadata {
		s.notifyMetaNote(ev, fromSel)
		return
	}
	if m := s.sel; m != nil && ev.Username == m.at.owner.Username && ev.Folder == m.name {
		// RFC 5465 5.1: flag changes only with FlagChange; they come
		// along with the other changes anyway.
		if n.sel != nil && (ev.Kind != store.EventFlags || n.sel.flags) {
			n.selPush = true
		}
		if ev.Kind != store.EventFolders && ev.Kind != store.EventSubscription {
			return
		}
	}
	if fromSel {
		if _, watched := n.owners[ev.Username]; watched || ev.Username == s.acct.Username {
			return
		}
	}
	switch ev.Kind {
	case store.EventAdded, store.EventExpunged:
		s.notePending(ev, pendMessages)
	case store.EventFlags:
		s.notePending(ev, pendFlags)
	case store.EventFolders:
		n.folders = n.known != nil
	case store.EventSubscription:
		n.subsChanged = n.subs != nil
	}
}

func (s *session) notePending(ev store.Event, kind uint8) {
	n := s.notify
	k := mboxKey{ev.Username, ev.Folder}
	if _, ok := n.pending[k]; !ok && len(n.pending) >= maxNotifyPending {
		n.overflow = true
		return
	}
	if n.pending == nil {
		n.pending = map[mboxKey]uint8{}
	}
	n.pending[k] |= kind
}

// notifyFlush sends what notifyNote collected: the changes of the
// selected mailbox (with expunges only when expunge is set, RFC 9051
// 7.4.1), STATUS for other mailboxes, LIST for names and subscriptions.
func (s *session) notifyFlush(expunge bool) {
	n := s.notify
	if n == nil {
		return
	}
	if n.overflow {
		s.w.Untagged().Atom("OK").Text("NOTIFICATIONOVERFLOW", "Too many notifications, NOTIFY is off.").End()
		n.stop()
		s.notify = &notifyState{}
		return
	}
	if n.selPush {
		n.selPush = false
		s.syncView(expunge)
	}
	if len(n.pending) > 0 {
		s.notifyStatus(n)
	}
	if n.subsChanged {
		n.subsChanged = false
		s.notifySubscriptions(n)
	}
	if n.folders {
		n.folders = false
		s.notifyNames(n)
	}
	if len(n.meta) > 0 {
		s.notifyMetadata(n)
	}
}

// notifyStatus sends "* STATUS" for the mailboxes with pending message
// events (RFC 5465 5.1-5.3): UIDNEXT and MESSAGES after new or expunged
// messages, UIDVALIDITY and HIGHESTMODSEQ after flag changes, and
// HIGHESTMODSEQ always with CONDSTORE.
func (s *session) notifyStatus(n *notifyState) {
	keys := make([]mboxKey, 0, len(n.pending))
	for k := range n.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b mboxKey) int {
		return strings.Compare(a.owner+"\x00"+a.folder, b.owner+"\x00"+b.folder)
	})
	for _, k := range keys {
		kind := n.pending[k]
		delete(n.pending, k)
		p, ok := s.placeOf(k)
		if !ok {
			continue
		}
		name := s.nameOf(p)
		if s.sel != nil && s.sel.full == name {
			continue
		}
		f := s.notifyMatch(n, name)
		if f == nil {
			continue
		}
		var items []string
		if kind&pendMessages != 0 && f.message {
			items = append(items, "UIDNEXT", "MESSAGES")
		}
		if kind&pendFlags != 0 && f.flags {
			items = append(items, "UIDVALIDITY")
		}
		if len(items) == 0 {
			continue
		}
		if s.condstore || kind&pendFlags != 0 {
			items = append(items, "HIGHESTMODSEQ")
		}
		info, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder)
		if err != nil {
			continue // deleted meanwhile: MailboxName tells
		}
		s.writeStatus(name, info, items)
	}
}

// placeOf resolves the folder of an event to a place the user may read:
// its own, or one of another mailbox with "l" and "r" (RFC 5465 5,
// RFC 4314), read afresh so that a right taken away stops its events.
func (s *session) placeOf(k mboxKey) (place, bool) {
	if k.owner == s.acct.Username {
		return s.personal(k.folder), true
	}
	kind := nsOther
	owner := store.Account{Username: k.owner}
	if k.owner == store.SharedAccount(s.userDomain()).Username {
		kind = nsPublic
	}
	p, err := s.locate(s.nameOf(place{kind: kind, owner: owner, folder: k.folder}), true)
	if err != nil || !p.rights.Has(acl.Lookup|acl.Read) {
		return place{}, false
	}
	return p, true
}

// notifyNames compares the visible names with those last told and sends
// LIST for each difference (RFC 5465 5.4): a new name plainly, a gone
// one with \NonExistent, a renamed one under its new name with OLDNAME.
func (s *session) notifyNames(n *notifyState) {
	visible, err := s.visibleNames(n)
	if err != nil {
		s.logError("NOTIFY", err)
		return
	}
	var gone, added []string
	for name := range n.known {
		if _, ok := visible[name]; !ok {
			gone = append(gone, name)
		}
	}
	for name := range visible {
		if !n.known[name] {
			added = append(added, name)
		}
	}
	if len(gone)+len(added) == 0 {
		return
	}
	slices.Sort(gone)
	slices.Sort(added)
	renamed := renames(gone, added)
	all, err := s.allVisible()
	if err != nil {
		s.logError("NOTIFY", err)
		return
	}
	for _, name := range gone {
		delete(n.known, name)
		if _, ok := renamed[name]; ok {
			continue
		}
		if f := s.notifyMatch(n, name); f != nil && f.mbName {
			s.notifyList(name, all, []string{`\NonExistent`}, "")
		}
	}
	for _, name := range added {
		n.known[name] = true
		if f := s.notifyMatch(n, name); f != nil && f.mbName {
			old := ""
			for o, nw := range renamed {
				if nw == name {
					old = o
				}
			}
			s.notifyList(name, all, nil, old)
		}
	}
}

// renames pairs the names gone with those added when they are one
// rename of a folder and its subfolders: the same suffixes under one
// old and one new prefix.
func renames(gone, added []string) map[string]string {
	if len(gone) == 0 || len(gone) != len(added) {
		return nil
	}
	from, to := gone[0], added[0] // sorted: the parents come first
	out := map[string]string{}
	for _, g := range gone {
		suffix, ok := strings.CutPrefix(g, from)
		if !ok {
			return nil
		}
		nw := to + suffix
		if !slices.Contains(added, nw) {
			return nil
		}
		out[g] = nw
	}
	return out
}

// notifyList sends "* LIST (attrs) delim name" with the children
// attribute, \Subscribed when subscribed, and OLDNAME after a rename.
func (s *session) notifyList(name string, visible map[string]place, attrs []string, old string) {
	delim := store.Delimiter
	if _, _, _, shared := splitShared(name); shared {
		delim = sharedDelim
	}
	if _, ok := visible[name]; ok {
		children := false
		for other := range visible {
			if strings.HasPrefix(other, name+delim) {
				children = true
				break
			}
		}
		if children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
	}
	if s.notify.subs[name] {
		attrs = append(attrs, `\Subscribed`)
	}
	w := s.mailbox(s.w.Untagged().Atom("LIST").List(attrs...).String(delim), name)
	if old != "" {
		w.Open().String("OLDNAME").Open()
		s.mailbox(w, old).Close().Close()
	}
	w.End()
}

// notifySubscriptions compares the subscriptions with those last known
// and sends LIST for each change (RFC 5465 5.5).
func (s *session) notifySubscriptions(n *notifyState) {
	subs, err := s.subscribedNames()
	if err != nil {
		s.logError("NOTIFY", err)
		return
	}
	var changed []string
	for name := range subs {
		if !n.subs[name] {
			changed = append(changed, name)
		}
	}
	for name := range n.subs {
		if !subs[name] {
			changed = append(changed, name)
		}
	}
	// A name counts when a SubscriptionChange filter selects it before
	// the change or after (SUBSCRIBED selects by subscription, RFC 5465
	// 6.4).
	wanted := map[string]bool{}
	for _, name := range changed {
		if f := s.notifyMatch(n, name); f != nil && f.subs {
			wanted[name] = true
		}
	}
	n.subs = subs
	slices.Sort(changed)
	var visible map[string]place
	if len(changed) > 0 {
		if visible, err = s.allVisible(); err != nil {
			s.logError("NOTIFY", err)
			return
		}
	}
	for _, name := range changed {
		if f := s.notifyMatch(n, name); !wanted[name] && (f == nil || !f.subs) {
			continue
		}
		var attrs []string
		if _, ok := visible[name]; !ok {
			attrs = append(attrs, `\NonExistent`)
		}
		s.notifyList(name, visible, attrs, "")
	}
}

// notifySelf takes the events a command of this session caused: the
// client knows of those (RFC 5465 5: the server SHOULD NOT tell it),
// so the new messages of an APPEND, COPY or MOVE target make no STATUS
// and the names and subscriptions it changed no LIST.
func (s *session) notifySelf(c *imapwire.Command) {
	n := s.notify
	if n == nil {
		return
	}
	var target string
	switch a := c.Args.(type) {
	case *imapwire.AppendArgs:
		target = a.Mailbox
	case *imapwire.CopyArgs:
		target = a.Mailbox
	}
	s.notifyDrain()
	s.notifyMetaSelf(c)
	if target != "" {
		if name, ok := s.storeName(target); ok {
			if p, err := s.locate(name, false); err == nil {
				delete(n.pending, mboxKey{p.owner.Username, p.folder})
			}
		}
	}
	switch c.Name {
	case "CREATE", "DELETE", "RENAME", "SETACL", "DELETEACL":
		if n.folders {
			n.folders = false
			if v, err := s.visibleNames(n); err == nil && n.known != nil {
				clear(n.known)
				for name := range v {
					n.known[name] = true
				}
			}
		}
	case "SUBSCRIBE", "UNSUBSCRIBE":
		if n.subsChanged {
			n.subsChanged = false
			if subs, err := s.subscribedNames(); err == nil {
				n.subs = subs
			}
		}
	}
}
