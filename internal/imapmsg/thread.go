package imapmsg

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// ThreadMsg is what THREAD needs of one message (RFC 5256).
type ThreadMsg struct {
	ID        uint32    // what the answer lists: sequence number or UID
	Seq       int       // sequence number, the last tie-breaker
	Date      time.Time // sent date (SentDate)
	Base      string    // collated base subject
	Reply     bool      // the subject marked a reply or forward
	MessageID string    // "" when missing or invalid
	Refs      []string  // References, or the first In-Reply-To id
}

// ThreadInfo returns the ThreadMsg of m, ID and Seq left to the caller.
func (m *Message) ThreadInfo(internal time.Time) ThreadMsg {
	h := m.header()
	subj, _ := h.Get("subject")
	base, reply := BaseSubject(subj)
	t := ThreadMsg{Date: m.SentDate(internal), Base: Collate(base), Reply: reply}
	if v, ok := h.Get("message-id"); ok {
		if ids := MessageIDs(v); len(ids) > 0 {
			t.MessageID = ids[0]
		}
	}
	if v, ok := h.Get("references"); ok {
		t.Refs = MessageIDs(v)
	}
	if len(t.Refs) == 0 {
		if v, ok := h.Get("in-reply-to"); ok {
			if ids := MessageIDs(v); len(ids) > 0 {
				t.Refs = ids[:1]
			}
		}
	}
	return t
}

// maxRefs bounds the References a message contributes: a header may
// list thousands, and only the last ones place a message in a thread.
const maxRefs = 64

// MessageIDs returns the msg-ids of a Message-ID, References or
// In-Reply-To value: what is between "<" and ">", blanks removed,
// keeping those with an "@" (a valid id, RFC 5322 3.6.4); at most the
// last maxRefs.
func MessageIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		id := strings.Join(strings.Fields(v[i+1:i+j]), "")
		v = v[i+j+1:]
		if strings.Contains(id, "@") && !strings.ContainsAny(id, "<") {
			out = append(out, id)
		}
	}
	if len(out) > maxRefs {
		out = out[len(out)-maxRefs:]
	}
	return out
}

// ThreadNode is a thread: a message (Msg >= 0, an index into the input)
// or a placeholder for messages only referenced (Msg < 0), and its
// replies.
type ThreadNode struct {
	Msg      int
	Children []*ThreadNode
	parent   *ThreadNode
}

func (n *ThreadNode) dummy() bool { return n.Msg < 0 }

// OrderedSubject threads msgs by ORDEREDSUBJECT (RFC 5256 3): messages
// grouped by base subject, each group a first message with the rest as
// its children, in sent date order; groups ordered by their first
// message's date.
func OrderedSubject(msgs []ThreadMsg) []*ThreadNode {
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := strings.Compare(msgs[a].Base, msgs[b].Base); c != 0 {
			return c
		}
		return byDate(msgs, a, b)
	})
	var roots []*ThreadNode
	for k := 0; k < len(idx); {
		root := &ThreadNode{Msg: idx[k]}
		j := k + 1
		for ; j < len(idx) && msgs[idx[j]].Base == msgs[idx[k]].Base; j++ {
			root.Children = append(root.Children, &ThreadNode{Msg: idx[j]})
		}
		roots = append(roots, root)
		k = j
	}
	slices.SortStableFunc(roots, func(a, b *ThreadNode) int { return byDate(msgs, a.Msg, b.Msg) })
	return roots
}

// byDate orders messages by sent date, then sequence number (RFC 5256 2.2).
func byDate(msgs []ThreadMsg, a, b int) int {
	if c := msgs[a].Date.Compare(msgs[b].Date); c != 0 {
		return c
	}
	return msgs[a].Seq - msgs[b].Seq
}

// References threads msgs by the REFERENCES algorithm (RFC 5256 3).
func References(msgs []ThreadMsg) []*ThreadNode {
	// (1) One container per Message-ID; a missing or duplicate id gets a
	// unique one. Referenced ids without a message are dummies.
	byID := map[string]*ThreadNode{}
	order := make([]*ThreadNode, 0, len(msgs)) // containers in creation order
	get := func(id string) *ThreadNode {
		n := byID[id]
		if n == nil {
			n = &ThreadNode{Msg: -1}
			byID[id] = n
			order = append(order, n)
		}
		return n
	}
	seqOrder := make([]int, len(msgs))
	for i := range seqOrder {
		seqOrder[i] = i
	}
	slices.SortStableFunc(seqOrder, func(a, b int) int { return msgs[a].Seq - msgs[b].Seq })
	for k, i := range seqOrder {
		m := &msgs[i]
		id := m.MessageID
		if id == "" || (byID[id] != nil && !byID[id].dummy()) {
			id = "\x00" + strconv.Itoa(k) // unique: no real id has a NUL
		}
		own := get(id)
		own.Msg = i
		// (1A) Link the references in order, keeping existing parents
		// and never making a loop.
		var prev *ThreadNode
		for _, r := range m.Refs {
			n := get(r)
			if prev != nil && n.parent == nil && n != prev && !isAncestor(n, prev) {
				link(prev, n)
			}
			prev = n
		}
		// (1B) The last reference is the message's parent: a link made
		// from other messages' references is broken, and none is made
		// to the message itself or into a loop.
		unlink(own)
		if prev != nil && prev != own && !isAncestor(own, prev) {
			link(prev, own)
		}
	}
	// (2) The root set.
	var roots []*ThreadNode
	for _, n := range order {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	// (4) Prune dummies.
	roots = prune(roots, true)
	// (5) Sort the top level by date (a dummy by its first child, after
	// its children are sorted).
	for _, n := range roots {
		if n.dummy() {
			sortSiblings(msgs, n.Children)
		}
	}
	sortSiblings(msgs, roots)
	// (6) Gather top-level threads of the same base subject.
	roots = gatherSubjects(msgs, roots)
	// (7) Sort every set of siblings, deepest first.
	sortTree(msgs, roots)
	return roots
}

// isAncestor reports whether a is p or an ancestor of p.
func isAncestor(a, p *ThreadNode) bool {
	for n := p; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

func link(parent, child *ThreadNode) {
	child.parent = parent
	parent.Children = append(parent.Children, child)
}

func unlink(n *ThreadNode) {
	if p := n.parent; p != nil {
		p.Children = slices.DeleteFunc(p.Children, func(c *ThreadNode) bool { return c == n })
		n.parent = nil
	}
}

// prune removes dummies (RFC 5256 REFERENCES step 4): a childless one
// goes; one with children is replaced by them, except at the top level,
// where only a single child is promoted.
func prune(level []*ThreadNode, top bool) []*ThreadNode {
	out := level[:0:0]
	for _, n := range level {
		n.Children = prune(n.Children, false)
		switch {
		case n.dummy() && len(n.Children) == 0:
		case n.dummy() && (!top || len(n.Children) == 1):
			for _, c := range n.Children {
				c.parent = n.parent
			}
			out = append(out, n.Children...)
		default:
			out = append(out, n)
		}
	}
	return out
}

// first is the message a node sorts and is grouped by: itself, or a
// dummy's first child.
func first(n *ThreadNode) int {
	for n.dummy() && len(n.Children) > 0 {
		n = n.Children[0]
	}
	return n.Msg
}

func sortSiblings(msgs []ThreadMsg, level []*ThreadNode) {
	slices.SortStableFunc(level, func(a, b *ThreadNode) int { return byDate(msgs, first(a), first(b)) })
}

func sortTree(msgs []ThreadMsg, level []*ThreadNode) {
	for _, n := range level {
		sortTree(msgs, n.Children)
	}
	sortSiblings(msgs, level)
}

// gatherSubjects merges top-level threads with the same base subject
// (RFC 5256 REFERENCES step 6).
func gatherSubjects(msgs []ThreadMsg, roots []*ThreadNode) []*ThreadNode {
	table := map[string]*ThreadNode{}
	isReply := func(n *ThreadNode) bool { return !n.dummy() && msgs[n.Msg].Reply }
	for _, n := range roots {
		base := msgs[first(n)].Base
		if base == "" {
			continue
		}
		old := table[base]
		if old == nil || (n.dummy() && !old.dummy()) || (isReply(old) && !n.dummy() && !isReply(n)) {
			table[base] = n
		}
	}
	out := roots[:0:0]
	removed := map[*ThreadNode]bool{}
	for _, n := range roots {
		if removed[n] {
			continue
		}
		base := msgs[first(n)].Base
		t := table[base]
		if base == "" || t == nil || t == n {
			out = append(out, n)
			continue
		}
		switch {
		case t.dummy() && n.dummy():
			for _, c := range n.Children {
				link(t, c)
			}
			n.Children = nil
		case t.dummy() != n.dummy():
			d, m := t, n
			if n.dummy() {
				d, m = n, t
			}
			link(d, m)
			if d == n {
				// The table's message moves under this dummy, which
				// takes its place.
				removed[t] = true
				out = slices.DeleteFunc(out, func(x *ThreadNode) bool { return x == t })
				table[base] = n
				out = append(out, n)
			}
		case isReply(n) && !isReply(t):
			link(t, n)
		default:
			d := &ThreadNode{Msg: -1}
			removed[t] = true
			out = slices.DeleteFunc(out, func(x *ThreadNode) bool { return x == t })
			link(d, t)
			link(d, n)
			table[base] = d
			out = append(out, d)
		}
	}
	return out
}
