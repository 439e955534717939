package imapwire

import "strings"

// StoreOp is the operation of a STORE command.
type StoreOp int

// STORE operations.
const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// StoreArgs: STORE set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] flags.
type StoreArgs struct {
	Set               SeqSet
	Op                StoreOp
	Silent            bool
	Flags             []string // system flags in canonical case
	HasUnchangedSince bool
	UnchangedSince    uint64
}

func parseStore(r *Reader, _ *Command) (any, error) {
	a := &StoreArgs{}
	var err error
	if err = r.sp(); err != nil {
		return nil, err
	}
	if a.Set, err = r.seqSet(); err != nil {
		return nil, err
	}
	if err = r.sp(); err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '(' {
		err = r.paramList(func(name string) error {
			if name != "UNCHANGEDSINCE" {
				return r.errorf("unknown STORE modifier %s", name)
			}
			if err := r.sp(); err != nil {
				return err
			}
			a.HasUnchangedSince = true
			a.UnchangedSince, err = r.modSeq(true)
			return err
		})
		if err != nil {
			return nil, err
		}
		if err = r.sp(); err != nil {
			return nil, err
		}
	}
	item, err := r.readWhile(func(c byte) bool { return c == '+' || c == '-' || isWordChar(c) })
	if err != nil {
		return nil, err
	}
	item = strings.ToUpper(item)
	switch {
	case strings.HasPrefix(item, "+"):
		a.Op, item = StoreAdd, item[1:]
	case strings.HasPrefix(item, "-"):
		a.Op, item = StoreRemove, item[1:]
	}
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		a.Silent = true
	default:
		return nil, r.errorf("expected [+|-]FLAGS[.SILENT]")
	}
	if err = r.sp(); err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '(' {
		if a.Flags, err = r.flagList(); err != nil {
			return nil, err
		}
		return a, nil
	}
	for {
		f, err := r.flag()
		if err != nil {
			return nil, err
		}
		a.Flags = append(a.Flags, f)
		if ok, err := r.accept(' '); err != nil || !ok {
			return a, err
		}
	}
}

// CopyArgs: COPY/MOVE set mailbox.
type CopyArgs struct {
	Set     SeqSet
	Mailbox string
}

func parseCopy(r *Reader, _ *Command) (any, error) {
	a := &CopyArgs{}
	var err error
	if err = r.sp(); err == nil {
		if a.Set, err = r.seqSet(); err == nil {
			if err = r.sp(); err == nil {
				a.Mailbox, err = r.mailbox()
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ExpungeArgs: UID EXPUNGE set (RFC 4315). Plain EXPUNGE has nil Args.
type ExpungeArgs struct {
	Set SeqSet
}

func parseExpunge(r *Reader, c *Command) (any, error) {
	if !c.UID {
		return nil, nil
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	set, err := r.seqSet()
	if err != nil {
		return nil, err
	}
	return &ExpungeArgs{Set: set}, nil
}
