package imapwire

import (
	"strconv"
	"strings"
)

// FetchKind is the kind of a FetchItem.
type FetchKind int

// Fetch item kinds.
const (
	FetchEnvelope      FetchKind = iota + 1
	FetchFlags                   // FLAGS
	FetchInternalDate            // INTERNALDATE
	FetchRFC822Size              // RFC822.SIZE
	FetchRFC822                  // RFC822 (= BODY[], sets \Seen)
	FetchRFC822Header            // RFC822.HEADER (= BODY.PEEK[HEADER])
	FetchRFC822Text              // RFC822.TEXT (= BODY[TEXT], sets \Seen)
	FetchUID                     // UID
	FetchBody                    // BODY (non-extensible BODYSTRUCTURE)
	FetchBodyStructure           // BODYSTRUCTURE
	FetchBodySection             // BODY[...] and BODY.PEEK[...]
	FetchBinary                  // BINARY[...] and BINARY.PEEK[...] (RFC 3516)
	FetchBinarySize              // BINARY.SIZE[...]
	FetchModSeq                  // MODSEQ (RFC 7162)
	FetchSaveDate                // SAVEDATE (RFC 8514)
	FetchPreview                 // PREVIEW [(LAZY)] (RFC 8970)
	FetchEmailID                 // EMAILID (RFC 8474 5.1)
	FetchThreadID                // THREADID (RFC 8474 5.2)
)

// Section is the part of a message named in BODY[...] or BINARY[...].
type Section struct {
	Part []uint32 // 1.2.3; empty for the whole message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME" (MIME only with a part number).
	Specifier string
	Fields    []string // header field names of HEADER.FIELDS[.NOT], as sent
}

// Partial is <offset.count> of a BODY[...] or BINARY[...] item.
type Partial struct {
	Offset, Count uint64
}

// FetchItem is one requested data item.
type FetchItem struct {
	Kind    FetchKind
	Peek    bool // BODY.PEEK / BINARY.PEEK: do not set \Seen
	Section Section
	Partial *Partial
	Lazy    bool // PREVIEW (LAZY)
	// Name is the item name to use in the FETCH response, e.g.
	// "BODY[HEADER.FIELDS (SUBJECT FROM)]" or "BODY[]<0>" for a request
	// of BODY.PEEK[]<0.2048> (RFC 9051 7.5.2: only the origin is echoed).
	Name string
}

// FetchArgs: FETCH set items [(CHANGEDSINCE n [VANISHED])]. Macros ALL,
// FAST and FULL are expanded.
type FetchArgs struct {
	Set             SeqSet
	Items           []FetchItem
	HasChangedSince bool
	ChangedSince    uint64
	Vanished        bool // only with UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6)
}

var simpleFetch = map[string]FetchKind{
	"ENVELOPE": FetchEnvelope, "FLAGS": FetchFlags, "INTERNALDATE": FetchInternalDate,
	"RFC822.SIZE": FetchRFC822Size, "RFC822": FetchRFC822, "RFC822.HEADER": FetchRFC822Header,
	"RFC822.TEXT": FetchRFC822Text, "UID": FetchUID, "BODYSTRUCTURE": FetchBodyStructure,
	"MODSEQ": FetchModSeq, "SAVEDATE": FetchSaveDate,
	"EMAILID": FetchEmailID, "THREADID": FetchThreadID,
}

var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

func parseFetch(r *Reader, c *Command) (any, error) {
	a := &FetchArgs{}
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
	if ok, err := r.accept('('); err != nil {
		return nil, err
	} else if ok {
		err := r.items(false, func() error {
			it, err := r.fetchItem("")
			a.Items = append(a.Items, it)
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		name, err := r.fetchName()
		if err != nil {
			return nil, err
		}
		if m, ok := fetchMacros[name]; ok {
			for _, n := range m {
				a.Items = append(a.Items, FetchItem{Kind: kindOf(n), Name: n})
			}
		} else {
			it, err := r.fetchItem(name)
			if err != nil {
				return nil, err
			}
			a.Items = []FetchItem{it}
		}
	}
	if ok, err := r.accept(' '); err != nil || !ok {
		return a, err
	}
	err = r.paramList(func(name string) error {
		switch name {
		case "CHANGEDSINCE":
			if err := r.sp(); err != nil {
				return err
			}
			a.HasChangedSince = true
			a.ChangedSince, err = r.modSeq(true)
			return err
		case "VANISHED":
			a.Vanished = true
			return nil
		}
		return r.errorf("unknown FETCH modifier %s", name)
	})
	if err != nil {
		return nil, err
	}
	if a.Vanished && (!c.UID || !a.HasChangedSince) {
		return nil, r.errorf("VANISHED requires UID FETCH and CHANGEDSINCE")
	}
	return a, nil
}

func kindOf(name string) FetchKind {
	if name == "BODY" {
		return FetchBody
	}
	return simpleFetch[name]
}

// previewMods reads the optional " (LAZY)" after PREVIEW (RFC 8970 3.2).
func (r *Reader) previewMods(it *FetchItem) error {
	if b, err := r.br.Peek(2); err != nil || string(b) != " (" {
		return nil
	}
	if err := r.sp(); err != nil {
		return err
	}
	return r.atomList(func(mod string) error {
		if mod != "LAZY" {
			return r.errorf("unknown PREVIEW modifier %s", mod)
		}
		it.Lazy = true
		return nil
	})
}

// fetchName reads a fetch attribute name such as BODY.PEEK in upper case.
func (r *Reader) fetchName() (string, error) {
	s, err := r.readWhile(isWordChar)
	if err == nil && s == "" {
		err = r.expected("fetch item")
	}
	return strings.ToUpper(s), err
}

// fetchItem parses one fetch-att; name is its already read name, if any.
func (r *Reader) fetchItem(name string) (FetchItem, error) {
	var err error
	if name == "" {
		if name, err = r.fetchName(); err != nil {
			return FetchItem{}, err
		}
	}
	it := FetchItem{Name: name}
	c, err := r.peek()
	if err != nil {
		return it, err
	}
	hasSection := c == '['
	if name == "PREVIEW" && !hasSection {
		it.Kind = FetchPreview
		return it, r.previewMods(&it)
	}
	if k, ok := simpleFetch[name]; ok && !hasSection {
		it.Kind = k
		return it, nil
	}
	binary := false
	switch name {
	case "BODY":
		if !hasSection {
			it.Kind = FetchBody
			return it, nil
		}
		it.Kind = FetchBodySection
	case "BODY.PEEK":
		it.Kind, it.Peek = FetchBodySection, true
	case "BINARY":
		it.Kind, binary = FetchBinary, true
	case "BINARY.PEEK":
		it.Kind, it.Peek, binary = FetchBinary, true, true
	case "BINARY.SIZE":
		it.Kind, binary = FetchBinarySize, true
	default:
		return it, r.errorf("unknown fetch item %s", name)
	}
	if !hasSection {
		return it, r.errorf("%s requires a section", name)
	}
	if it.Section, err = r.section(binary); err != nil {
		return it, err
	}
	base := strings.TrimSuffix(name, ".PEEK")
	it.Name = base + "[" + it.Section.String() + "]"
	if ok, err := r.accept('<'); err != nil || !ok || it.Kind == FetchBinarySize {
		if ok && err == nil {
			err = r.errorf("BINARY.SIZE takes no partial")
		}
		return it, err
	}
	p := &Partial{}
	if p.Offset, err = r.number64(1<<63-1, "partial offset"); err != nil {
		return it, err
	}
	if err = r.expect('.'); err != nil {
		return it, err
	}
	if p.Count, err = r.number64(1<<63-1, "partial length"); err != nil {
		return it, err
	}
	if p.Count == 0 {
		return it, r.errorf("partial length must not be 0")
	}
	it.Partial = p
	it.Name += "<" + strconv.FormatUint(p.Offset, 10) + ">"
	return it, r.expect('>')
}

// section parses "[" section-spec "]"; BINARY sections hold only parts.
func (r *Reader) section(binary bool) (Section, error) {
	var s Section
	if err := r.expect('['); err != nil {
		return s, err
	}
	for {
		c, err := r.peek()
		if err != nil {
			return s, err
		}
		if !isDigit(c) {
			break
		}
		n, err := r.nzNumber("part number")
		if err != nil {
			return s, err
		}
		s.Part = append(s.Part, n)
		if ok, err := r.accept('.'); err != nil {
			return s, err
		} else if !ok {
			break
		}
		if c, err = r.peek(); err != nil {
			return s, err
		}
		if !isDigit(c) {
			if s.Specifier, err = r.sectionWord(); err != nil {
				return s, err
			}
			break
		}
	}
	if len(s.Part) == 0 {
		if c, err := r.peek(); err != nil {
			return s, err
		} else if c != ']' {
			if s.Specifier, err = r.sectionWord(); err != nil {
				return s, err
			}
		}
	}
	switch s.Specifier {
	case "":
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Part) == 0 {
			return s, r.errorf("MIME requires a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := r.sp(); err != nil {
			return s, err
		}
		var err error
		if s.Fields, err = r.headerList(); err != nil {
			return s, err
		}
	default:
		return s, r.errorf("invalid section %s", s.Specifier)
	}
	if binary && s.Specifier != "" {
		return s, r.errorf("BINARY sections take only part numbers")
	}
	return s, r.expect(']')
}

func (r *Reader) sectionWord() (string, error) {
	w, err := r.readWhile(func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' })
	if err == nil && w == "" {
		err = r.expected("section")
	}
	return strings.ToUpper(w), err
}

// headerList reads "(" header-fld-name *(SP header-fld-name) ")".
func (r *Reader) headerList() ([]string, error) {
	if err := r.expect('('); err != nil {
		return nil, err
	}
	var fields []string
	err := r.items(false, func() error {
		f, err := r.astring()
		if err != nil {
			return err
		}
		if f == "" || strings.IndexFunc(f, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == ':' }) >= 0 {
			return r.errorf("invalid header field name")
		}
		fields = append(fields, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fields, nil
}

// String formats the section as inside the brackets, e.g. "1.2.MIME" or
// "HEADER.FIELDS (From Subject)".
func (s Section) String() string {
	var b strings.Builder
	for i, p := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(p), 10))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(astringToken(f))
		}
		b.WriteByte(')')
	}
	return b.String()
}
