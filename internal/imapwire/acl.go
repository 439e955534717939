package imapwire

// ACLArgs are the arguments of the ACL commands (RFC 4314 3):
// SETACL mailbox identifier rights, DELETEACL mailbox identifier,
// GETACL mailbox, LISTRIGHTS mailbox identifier, MYRIGHTS mailbox.
// Identifier and Rights are astrings, kept as sent; the server checks
// them.
type ACLArgs struct {
	Mailbox, Identifier, Rights string
}

// parseACL returns the parser of an ACL command taking the mailbox and
// then n more astrings (identifier, rights).
func parseACL(n int) handler {
	return func(r *Reader, _ *Command) (any, error) {
		a := &ACLArgs{}
		if err := r.sp(); err != nil {
			return nil, err
		}
		var err error
		if a.Mailbox, err = r.mailbox(); err != nil {
			return nil, err
		}
		for i, dst := range []*string{&a.Identifier, &a.Rights}[:n] {
			if err := r.sp(); err != nil {
				return nil, err
			}
			if *dst, err = r.astring(); err != nil {
				if i == 1 {
					return nil, r.errorf("expected rights")
				}
				return nil, err
			}
		}
		return a, nil
	}
}
