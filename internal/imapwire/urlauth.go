package imapwire

// URLAUTH commands (RFC 4467 9).

// GenURLAuthArgs: GENURLAUTH 1*(SP url-rump SP mechanism).
type GenURLAuthArgs struct {
	Items []URLMech
}

// URLMech is one URL of GENURLAUTH with the mechanism to sign it with.
type URLMech struct {
	URL       string
	Mechanism string // upper case
}

// ResetKeyArgs: RESETKEY [SP mailbox *(SP mechanism)].
type ResetKeyArgs struct {
	Mailbox    string // "" with HasMailbox false: every mailbox
	HasMailbox bool
	Mechanisms []string // upper case
}

// URLFetchArgs: URLFETCH 1*(SP url-full).
type URLFetchArgs struct {
	URLs []string
}

func parseGenURLAuth(r *Reader, _ *Command) (any, error) {
	a := &GenURLAuthArgs{}
	for {
		if err := r.sp(); err != nil {
			return nil, err
		}
		u, err := r.astring()
		if err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		m, err := r.mechanism()
		if err != nil {
			return nil, err
		}
		a.Items = append(a.Items, URLMech{URL: u, Mechanism: m})
		if c, err := r.peek(); err != nil || c != ' ' {
			return a, err
		}
	}
}

func parseResetKey(r *Reader, _ *Command) (any, error) {
	a := &ResetKeyArgs{}
	if c, err := r.peek(); err != nil || c != ' ' {
		return a, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	var err error
	if a.Mailbox, err = r.mailbox(); err != nil {
		return nil, err
	}
	a.HasMailbox = true
	for {
		if c, err := r.peek(); err != nil || c != ' ' {
			return a, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		m, err := r.mechanism()
		if err != nil {
			return nil, err
		}
		a.Mechanisms = append(a.Mechanisms, m)
	}
}

func parseURLFetch(r *Reader, _ *Command) (any, error) {
	a := &URLFetchArgs{}
	for {
		if err := r.sp(); err != nil {
			return nil, err
		}
		u, err := r.astring()
		if err != nil {
			return nil, err
		}
		a.URLs = append(a.URLs, u)
		if c, err := r.peek(); err != nil || c != ' ' {
			return a, err
		}
	}
}

// mechanism reads "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".").
func (r *Reader) mechanism() (string, error) {
	m, err := r.keyword("mechanism")
	if err != nil {
		return "", err
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; !(c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.') {
			return "", r.errorf("invalid mechanism %q", m)
		}
	}
	return m, nil
}
