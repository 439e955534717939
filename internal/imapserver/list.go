package imapserver

import (
	"slices"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// node is one name of the mailbox hierarchy: a folder, or a parent that
// exists only because folders below it do (Maildir++ needs no parent).
type node struct {
	name     string
	info     *store.FolderInfo // nil for an implied parent
	children bool
	subChild bool // a descendant is subscribed
}

// hierarchy builds the sorted names of all folders and their implied
// parents, INBOX first.
func hierarchy(folders []store.FolderInfo) []*node {
	byName := map[string]*node{}
	get := func(name string) *node {
		n := byName[name]
		if n == nil {
			n = &node{name: name}
			byName[name] = n
		}
		return n
	}
	for i := range folders {
		f := &folders[i]
		get(f.Name).info = f
		for p := f.Name; ; {
			k := strings.LastIndex(p, store.Delimiter)
			if k <= 0 {
				break
			}
			p = p[:k]
			parent := get(p)
			parent.children = true
			parent.subChild = parent.subChild || f.Subscribed
		}
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
		// RFC 9051 6.3.9: the hierarchy delimiter and root name.
		s.w.Untagged().Atom("LIST").List(`\Noselect`).String(store.Delimiter).String("").End()
	}
	if len(patterns) == 0 {
		return done(c.Name[:1] + strings.ToLower(c.Name[1:]) + " completed.")
	}
	folders, err := s.srv.o.Store.ListFolders(s.ctx, s.acct)
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	for _, it := range a.ReturnStatus {
		if it == "HIGHESTMODSEQ" {
			s.condstore = true
		}
	}
	for _, n := range hierarchy(folders) {
		if !slices.ContainsFunc(patterns, func(p string) bool { return matchPattern(p, n.name) }) {
			continue
		}
		if lsub {
			s.lsubLine(n, patterns)
			continue
		}
		s.listLine(a, n)
	}
	return done(c.Name[:1] + strings.ToLower(c.Name[1:]) + " completed.")
}

// listLine sends the LIST (and STATUS) response of one name, if the
// selection options keep it.
func (s *session) listLine(a *imapwire.ListArgs, n *node) {
	exists := n.info != nil
	subscribed := exists && n.info.Subscribed
	childInfo := false
	switch {
	case a.SelectSubscribed && !subscribed:
		// RFC 5258 3.5: a parent of subscribed mailboxes, with CHILDINFO.
		if !a.SelectRecursiveMatch || !n.subChild {
			return
		}
		childInfo = true
	case a.SelectSpecialUse && (!exists || n.info.SpecialUse == ""):
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
	w := s.mailbox(s.w.Untagged().Atom("LIST").List(attrs...).String(store.Delimiter), n.name)
	if childInfo {
		w.Open().String("CHILDINFO").Open().String("SUBSCRIBED").Close().Close()
	}
	w.End()
	if exists && a.ReturnStatus != nil {
		s.writeStatus(*n.info, a.ReturnStatus)
	}
}

// lsubLine sends the LSUB response of one name: subscribed folders, and a
// parent of subscribed folders as \Noselect when a "%" stops at it (RFC
// 3501 6.3.9).
func (s *session) lsubLine(n *node, patterns []string) {
	subscribed := n.info != nil && n.info.Subscribed
	attrs := []string{}
	if !subscribed {
		if !n.subChild || !slices.ContainsFunc(patterns, func(p string) bool { return strings.HasSuffix(p, "%") }) {
			return
		}
		attrs = append(attrs, `\Noselect`)
	}
	s.mailbox(s.w.Untagged().Atom("LSUB").List(attrs...).String(store.Delimiter), n.name).End()
}
