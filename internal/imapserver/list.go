package imapserver

import (
	"slices"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// node is one name of the mailbox hierarchy: a folder, or a parent that
// exists only because folders below it do (Maildir++ needs no parent).
type node struct {
	name       string            // store-form IMAP name
	info       *store.FolderInfo // nil for an implied parent or a kept subscription
	delim      string            // the hierarchy delimiter of its namespace
	rights     acl.Rights        // the user's rights on the folder
	children   bool
	subscribed bool     // the folder, or its name when it has none (RFC 3501 6.3.4)
	subKids    []string // subscribed descendants
}

// hierarchy builds the sorted names of all folders, their implied parents
// and the subscribed names without a folder (subs), INBOX first; delim
// separates the levels of the names. rights holds the user's rights on
// the folders of another mailbox by name; nil: its own folders.
func hierarchy(folders []store.FolderInfo, subs []string, delim string, rights map[string]acl.Rights) []*node {
	byName := map[string]*node{}
	get := func(name string) *node {
		n := byName[name]
		if n == nil {
			n = &node{name: name, delim: delim, rights: acl.All}
			if rights != nil {
				n.rights = rights[name]
			}
			byName[name] = n
		}
		return n
	}
	add := func(name string, subscribed, exists bool) {
		for p := name; ; {
			k := strings.LastIndex(p, delim)
			if k <= 0 {
				break
			}
			p = p[:k]
			parent := get(p)
			parent.children = parent.children || exists
			if subscribed {
				parent.subKids = append(parent.subKids, name)
			}
		}
	}
	for i := range folders {
		f := &folders[i]
		n := get(f.Name)
		n.info, n.subscribed = f, f.Subscribed
		add(f.Name, f.Subscribed, true)
	}
	for _, name := range subs {
		get(name).subscribed = true
		add(name, true, false)
	}
	out := make([]*node, 0, len(byName))
	for _, n := range byName {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *node) int {
		if (a.name == "INBOX") != (b.name == "INBOX") {
			if a.name == "INBOX" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// cmdList serves LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258),
// LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154), and LSUB (RFC 3501
// 6.3.9).
func (s *session) cmdList(c *imapwire.Command) result {
	a := c.Args.(*imapwire.ListArgs)
	lsub := c.Name == "LSUB"
	var patterns []string
	delimQuery := false
	for _, p := range a.Patterns {
		if p == "" {
			delimQuery = true
			continue
		}
		full := a.Reference + p
		if s.utf8 {
			full = imapwire.EncodeMailboxName(full)
		}
		patterns = append(patterns, full)
	}
	if delimQuery && !lsub {
		// RFC 9051 6.3.9: the hierarchy delimiter and root name, of the
		// reference's namespace.
		ref := a.Reference
		if s.utf8 {
			ref = imapwire.EncodeMailboxName(ref)
		}
		if kind, _, _, shared := splitShared(ref); shared {
			root := otherPrefix
			if kind == nsPublic {
				root = publicPrefix
			}
			s.mailbox(s.w.Untagged().Atom("LIST").List(`\Noselect`).String(sharedDelim), root).End()
		} else {
			s.w.Untagged().Atom("LIST").List(`\Noselect`).String(store.Delimiter).String("").End()
		}
	}
	if len(patterns) == 0 {
		return done(c.Name[:1] + strings.ToLower(c.Name[1:]) + " completed.")
	}
	list := s.srv.o.Store.ListFolders
	if a.ReturnStatus == nil {
		list = s.srv.o.Store.ListFolderStates // no counts to show: no message read
	}
	folders, err := list(s.ctx, s.acct)
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	subs, err := s.srv.o.Store.Subscriptions(s.ctx, s.acct)
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	for _, it := range a.ReturnStatus {
		if it == "HIGHESTMODSEQ" {
			s.enableCondstore()
		}
	}
	var own, other []string
	for _, n := range subs {
		if _, _, _, shared := splitShared(n); shared {
			other = append(other, n)
		} else {
			own = append(own, n)
		}
	}
	nodes := hierarchy(folders, own, store.Delimiter, nil)
	if slices.ContainsFunc(patterns, func(p string) bool { return mayMatchShared(p) }) {
		shared, err := s.sharedNodes(other)
		if err != nil {
			return s.storeFail(c.Name, err, false)
		}
		nodes = append(nodes, shared...)
	}
	for _, n := range nodes {
		delim := n.delim[0]
		matches := func(name string) bool {
			return slices.ContainsFunc(patterns, func(p string) bool { return matchPatternDelim(p, name, delim) })
		}
		if !matches(n.name) {
			continue
		}
		if lsub {
			s.lsubLine(n, patterns)
			continue
		}
		s.listLine(a, n, matches)
	}
	return done(c.Name[:1] + strings.ToLower(c.Name[1:]) + " completed.")
}

// listLine sends the LIST (and STATUS) response of one name, if the
// selection options keep it.
func (s *session) listLine(a *imapwire.ListArgs, n *node, matches func(string) bool) {
	exists := n.info != nil
	subscribed := n.subscribed
	childInfo := false
	switch {
	case a.SelectSubscribed && !subscribed:
		// RFC 5258 3.5: a parent of subscribed mailboxes, with CHILDINFO,
		// unless every such descendant is itself in the answer.
		if !a.SelectRecursiveMatch || !slices.ContainsFunc(n.subKids, func(k string) bool { return !matches(k) }) {
			return
		}
		childInfo = true
	case a.SelectSpecialUse && (!exists || n.info.SpecialUse == ""):
		return
	case !exists && !n.children && !a.SelectSubscribed:
		// Only the subscription of a deleted folder is left: LIST
		// (SUBSCRIBED) and LSUB show it, plain LIST does not.
		return
	}
	attrs := []string{}
	if !exists {
		if a.Extended {
			attrs = append(attrs, `\NonExistent`)
		} else {
			attrs = append(attrs, `\Noselect`)
		}
	}
	if n.children {
		attrs = append(attrs, `\HasChildren`)
	} else {
		attrs = append(attrs, `\HasNoChildren`)
	}
	if subscribed && (a.SelectSubscribed || a.ReturnSubscribed) {
		attrs = append(attrs, `\Subscribed`)
	}
	if exists && n.info.SpecialUse != "" {
		attrs = append(attrs, n.info.SpecialUse)
	}
	w := s.mailbox(s.w.Untagged().Atom("LIST").List(attrs...).String(n.delim), n.name)
	if childInfo {
		w.Open().String("CHILDINFO").Open().String("SUBSCRIBED").Close().Close()
	}
	w.End()
	if exists && a.ReturnStatus != nil && n.rights.Has(acl.Read) {
		s.writeStatus(n.name, *n.info, a.ReturnStatus)
	}
}

// lsubLine sends the LSUB response of one name: subscribed folders, and a
// parent of subscribed folders as \Noselect when a "%" stops at it (RFC
// 3501 6.3.9).
func (s *session) lsubLine(n *node, patterns []string) {
	subscribed := n.subscribed
	attrs := []string{}
	if !subscribed {
		if len(n.subKids) == 0 || !slices.ContainsFunc(patterns, func(p string) bool { return strings.HasSuffix(p, "%") }) {
			return
		}
		attrs = append(attrs, `\Noselect`)
	}
	s.mailbox(s.w.Untagged().Atom("LSUB").List(attrs...).String(n.delim), n.name).End()
}
