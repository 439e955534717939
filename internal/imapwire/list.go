package imapwire

// ListArgs: LIST and LSUB, with LIST-EXTENDED (RFC 5258), SPECIAL-USE
// (RFC 6154) and LIST-STATUS (RFC 5819) options.
type ListArgs struct {
	Reference string
	Patterns  []string // list-mailbox patterns with % and *, as sent
	// Extended is set when the extended syntax was used (selection
	// options, a pattern list or RETURN); see RFC 5258 section 3.
	Extended bool

	SelectSubscribed     bool
	SelectRemote         bool
	SelectRecursiveMatch bool
	SelectSpecialUse     bool

	ReturnSubscribed bool
	ReturnChildren   bool
	ReturnSpecialUse bool
	ReturnStatus     []string // STATUS items; nil when not requested
}

func parseLsub(r *Reader, _ *Command) (any, error) {
	a := &ListArgs{}
	var err error
	if err = r.sp(); err == nil {
		if a.Reference, err = r.mailbox(); err == nil {
			if err = r.sp(); err == nil {
				var p string
				p, err = r.listMailbox()
				a.Patterns = []string{p}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (r *Reader) listMailbox() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return r.str()
	}
	s, err := r.readWhile(isListChar)
	if err == nil && s == "" {
		err = r.expected("mailbox pattern")
	}
	return s, err
}

func parseList(r *Reader, _ *Command) (any, error) {
	a := &ListArgs{}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '(' {
		a.Extended = true
		if err := r.atomList(func(opt string) error {
			switch opt {
			case "SUBSCRIBED":
				a.SelectSubscribed = true
			case "REMOTE":
				a.SelectRemote = true
			case "RECURSIVEMATCH":
				a.SelectRecursiveMatch = true
			case "SPECIAL-USE":
				a.SelectSpecialUse = true
			default:
				return r.errorf("unknown LIST selection option %s", opt)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		// RFC 5258 3: RECURSIVEMATCH needs another (non-REMOTE) option.
		if a.SelectRecursiveMatch && !a.SelectSubscribed && !a.SelectSpecialUse {
			return nil, r.errorf("RECURSIVEMATCH requires another selection option")
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	var err error
	if a.Reference, err = r.mailbox(); err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if ok, err := r.accept('('); err != nil {
		return nil, err
	} else if ok {
		a.Extended = true
		err := r.items(false, func() error {
			p, err := r.listMailbox()
			a.Patterns = append(a.Patterns, p)
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		p, err := r.listMailbox()
		if err != nil {
			return nil, err
		}
		a.Patterns = []string{p}
	}
	if ok, err := r.accept(' '); err != nil || !ok {
		return a, err
	}
	if k, err := r.keyword("RETURN"); err != nil {
		return nil, err
	} else if k != "RETURN" {
		return nil, r.errorf("expected RETURN")
	}
	a.Extended = true
	if err := r.sp(); err != nil {
		return nil, err
	}
	err = r.atomList(func(opt string) error {
		switch opt {
		case "SUBSCRIBED":
			a.ReturnSubscribed = true
		case "CHILDREN":
			a.ReturnChildren = true
		case "SPECIAL-USE":
			a.ReturnSpecialUse = true
		case "STATUS":
			if err := r.sp(); err != nil {
				return err
			}
			items, err := r.statusItems()
			a.ReturnStatus = items
			return err
		default:
			return r.errorf("unknown LIST return option %s", opt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// atomList reads "(" [atom *(SP atom)] ")", calling fn with each atom in
// upper case; fn may read arguments that follow the atom.
func (r *Reader) atomList(fn func(string) error) error {
	if err := r.expect('('); err != nil {
		return err
	}
	return r.items(true, func() error {
		k, err := r.keyword("option")
		if err != nil {
			return err
		}
		return fn(k)
	})
}

// StatusArgs: STATUS mailbox (items); items in upper case.
type StatusArgs struct {
	Mailbox string
	Items   []string
}

var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "HIGHESTMODSEQ": true, "RECENT": true,
	"APPENDLIMIT": true, "MAILBOXID": true, // MAILBOXID: RFC 8474 4.4
}

func (r *Reader) statusItems() ([]string, error) {
	items := []string{}
	err := r.atomList(func(it string) error {
		if !statusItems[it] {
			return r.errorf("unknown STATUS item %s", it)
		}
		items = append(items, it)
		return nil
	})
	if err == nil && len(items) == 0 {
		err = r.errorf("empty STATUS item list")
	}
	return items, err
}

func parseStatus(r *Reader, _ *Command) (any, error) {
	a := &StatusArgs{}
	var err error
	if err = r.sp(); err == nil {
		if a.Mailbox, err = r.mailbox(); err == nil {
			if err = r.sp(); err == nil {
				a.Items, err = r.statusItems()
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}
