package imapwire

import (
	"strings"
	"time"
)

// SearchOp is the kind of a SearchKey.
type SearchOp int

// Search key kinds. FROM, TO, CC, BCC and SUBJECT become SearchHeader;
// ANSWERED/UNANSWERED etc. become SearchFlag/SearchNoFlag; RECENT, OLD and
// NEW become flag tests on \Recent (and \Seen).
const (
	SearchAll               SearchOp = iota + 1
	SearchAnd                        // all Children match
	SearchOr                         // Children[0] or Children[1]
	SearchNot                        // Children[0] does not match
	SearchSeq                        // message sequence number in Set
	SearchUID                        // UID in Set
	SearchFlag                       // Flag (system flag or keyword) is set
	SearchNoFlag                     // Flag is not set
	SearchHeader                     // header Field contains Value ("" = field present)
	SearchBody                       // body contains Value
	SearchText                       // header or body contains Value
	SearchBefore                     // internal date before Date (date only)
	SearchOn                         // internal date on Date
	SearchSince                      // internal date on or after Date
	SearchSentBefore                 // Date: header before Date
	SearchSentOn                     // Date: header on Date
	SearchSentSince                  // Date: header on or after Date
	SearchLarger                     // RFC822.SIZE > Size
	SearchSmaller                    // RFC822.SIZE < Size
	SearchModSeq                     // mod-sequence >= ModSeq (RFC 7162)
	SearchSavedBefore                // save date before Date (RFC 8514)
	SearchSavedOn                    // save date on Date
	SearchSavedSince                 // save date on or after Date
	SearchSaveDateSupported          // the mailbox keeps save dates (RFC 8514)
	SearchEmailID                    // EMAILID is Value (RFC 8474 6)
	SearchThreadID                   // THREADID is Value (RFC 8474 6)
)

// SearchKey is a node of a search program. Only the fields of its Op are
// set. Strings are raw octets in the command's charset.
type SearchKey struct {
	Op       SearchOp
	Children []SearchKey
	Set      SeqSet
	Flag     string
	Field    string
	Value    string
	Date     time.Time // midnight UTC of the date sent
	Size     uint64
	ModSeq   uint64
	// ModSeqEntry ("/flags/\\Seen") and ModSeqType ("priv", "shared" or
	// "all") are the optional entry of a MODSEQ key.
	ModSeqEntry, ModSeqType string
}

// SearchReturn holds ESEARCH return options (RFC 4731, RFC 5182 SAVE,
// RFC 9394 PARTIAL, RFC 5267 CONTEXT and UPDATE).
type SearchReturn struct {
	Min, Max, All, Count, Save bool
	Partial                    *PartialRange
	// Context is the hint of RFC 5267 4.2; Update asks for ADDTO and
	// REMOVEFROM notifications (RFC 5267 4.3), UpdateFetch for the
	// FETCH of messages added (RFC 5465 7).
	Context, Update bool
	UpdateFetch     *[]FetchItem
}

// PartialRange is the range of PARTIAL (RFC 9394 3.1): results First to
// Last, counted from 1; negative values count from the end (-1 is the
// last result). First <= Last in magnitude.
type PartialRange struct {
	First, Last int32
}

// SearchArgs: SEARCH [RETURN (...)] [CHARSET x] keys.
type SearchArgs struct {
	// ESearch is set when RETURN was given: answer with ESEARCH. An empty
	// RETURN () means ALL (RFC 4731 3.1).
	ESearch bool
	Return  SearchReturn
	Charset string // upper case; "" when absent
	Key     SearchKey
}

func parseSearch(r *Reader, _ *Command) (any, error) {
	a := &SearchArgs{}
	if err := r.sp(); err != nil {
		return nil, err
	}
	first, err := r.searchWord()
	if err != nil {
		return nil, err
	}
	if first == "RETURN" {
		a.ESearch = true
		if a.Return, err = r.searchReturn(); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		if first, err = r.searchWord(); err != nil {
			return nil, err
		}
	}
	if first == "CHARSET" {
		if err := r.sp(); err != nil {
			return nil, err
		}
		cs, err := r.astring()
		if err != nil {
			return nil, err
		}
		a.Charset = strings.ToUpper(cs)
		if err := r.sp(); err != nil {
			return nil, err
		}
		if first, err = r.searchWord(); err != nil {
			return nil, err
		}
	}
	if a.Key, err = r.searchProgram(first); err != nil {
		return nil, err
	}
	return a, nil
}

// searchReturn reads the "(options)" of RETURN (RFC 4731, RFC 5182 SAVE,
// RFC 9394 PARTIAL); "()" means ALL.
func (r *Reader) searchReturn() (SearchReturn, error) {
	var ret SearchReturn
	if err := r.sp(); err != nil {
		return ret, err
	}
	if err := r.expect('('); err != nil {
		return ret, err
	}
	err := r.items(true, func() error {
		opt, err := r.keyword("option")
		if err != nil {
			return err
		}
		switch opt {
		case "MIN":
			ret.Min = true
		case "MAX":
			ret.Max = true
		case "ALL":
			ret.All = true
		case "COUNT":
			ret.Count = true
		case "SAVE":
			ret.Save = true
		case "CONTEXT":
			ret.Context = true
		case "UPDATE":
			ret.Update = true
			if b, err := r.br.Peek(2); err == nil && string(b) == " (" {
				if err := r.sp(); err != nil {
					return err
				}
				items, err := r.fetchAttList()
				if err != nil {
					return err
				}
				ret.UpdateFetch = &items
			}
		case "PARTIAL":
			if err := r.sp(); err != nil {
				return err
			}
			p, err := r.partialRange()
			if err != nil {
				return err
			}
			ret.Partial = &p
		default:
			return r.errorf("unknown SEARCH return option %s", opt)
		}
		return nil
	})
	if err != nil {
		return ret, err
	}
	if ret.Partial != nil && ret.All {
		// RFC 9394 3.1: PARTIAL and ALL are mutually exclusive.
		return ret, r.errorf("PARTIAL and ALL can't be combined")
	}
	if ret == (SearchReturn{}) {
		ret.All = true
	}
	return ret, nil
}

// searchProgram reads search keys up to the line end, the name of the
// first already read.
func (r *Reader) searchProgram(first string) (SearchKey, error) {
	var keys []SearchKey
	for {
		k, err := r.searchKey(first)
		if err != nil {
			return SearchKey{}, err
		}
		keys = append(keys, k)
		if ok, err := r.accept(' '); err != nil {
			return SearchKey{}, err
		} else if !ok {
			break
		}
		if first, err = r.searchWord(); err != nil {
			return SearchKey{}, err
		}
	}
	return andKeys(keys), nil
}

func andKeys(keys []SearchKey) SearchKey {
	if len(keys) == 1 {
		return keys[0]
	}
	return SearchKey{Op: SearchAnd, Children: keys}
}

// searchWord reads the upper-case name of the next search key, or ""
// when it starts with "(" or a sequence set (which searchKey reads).
func (r *Reader) searchWord() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '(' || isSeqChar(c) {
		return "", nil
	}
	return r.keyword("search key")
}

var flagKeys = map[string]SearchKey{
	"ANSWERED": {Op: SearchFlag, Flag: `\Answered`}, "UNANSWERED": {Op: SearchNoFlag, Flag: `\Answered`},
	"DELETED": {Op: SearchFlag, Flag: `\Deleted`}, "UNDELETED": {Op: SearchNoFlag, Flag: `\Deleted`},
	"DRAFT": {Op: SearchFlag, Flag: `\Draft`}, "UNDRAFT": {Op: SearchNoFlag, Flag: `\Draft`},
	"FLAGGED": {Op: SearchFlag, Flag: `\Flagged`}, "UNFLAGGED": {Op: SearchNoFlag, Flag: `\Flagged`},
	"SEEN": {Op: SearchFlag, Flag: `\Seen`}, "UNSEEN": {Op: SearchNoFlag, Flag: `\Seen`},
	"RECENT": {Op: SearchFlag, Flag: `\Recent`}, "OLD": {Op: SearchNoFlag, Flag: `\Recent`},
}

var headerKeys = map[string]string{
	"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc", "SUBJECT": "Subject",
}

var dateKeys = map[string]SearchOp{
	"BEFORE": SearchBefore, "ON": SearchOn, "SINCE": SearchSince,
	"SENTBEFORE": SearchSentBefore, "SENTON": SearchSentOn, "SENTSINCE": SearchSentSince,
	"SAVEDBEFORE": SearchSavedBefore, "SAVEDON": SearchSavedOn, "SAVEDSINCE": SearchSavedSince,
}

// searchKey parses one search key whose name (if any) was read already.
func (r *Reader) searchKey(name string) (SearchKey, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		return SearchKey{}, r.errorf("search keys nested too deeply")
	}
	if name == "" {
		if ok, err := r.accept('('); err != nil {
			return SearchKey{}, err
		} else if ok {
			return r.searchGroup()
		}
		set, err := r.seqSet()
		return SearchKey{Op: SearchSeq, Set: set}, err
	}
	if k, ok := flagKeys[name]; ok {
		return k, nil
	}
	switch name {
	case "ALL":
		return SearchKey{Op: SearchAll}, nil
	case "SAVEDATESUPPORTED":
		return SearchKey{Op: SearchSaveDateSupported}, nil
	case "NEW":
		return SearchKey{Op: SearchAnd, Children: []SearchKey{flagKeys["RECENT"], flagKeys["UNSEEN"]}}, nil
	}
	if err := r.sp(); err != nil {
		return SearchKey{}, err
	}
	var k SearchKey
	var err error
	if field, ok := headerKeys[name]; ok {
		k = SearchKey{Op: SearchHeader, Field: field}
		k.Value, err = r.astring()
		return k, err
	}
	if op, ok := dateKeys[name]; ok {
		k.Op = op
		k.Date, err = r.date()
		return k, err
	}
	switch name {
	case "BODY", "TEXT":
		k.Op = map[string]SearchOp{"BODY": SearchBody, "TEXT": SearchText}[name]
		k.Value, err = r.astring()
	case "HEADER":
		k.Op = SearchHeader
		if k.Field, err = r.astring(); err == nil {
			if err = r.sp(); err == nil {
				k.Value, err = r.astring()
			}
		}
	case "KEYWORD", "UNKEYWORD":
		k.Op = map[string]SearchOp{"KEYWORD": SearchFlag, "UNKEYWORD": SearchNoFlag}[name]
		k.Flag, err = r.flag()
	case "LARGER", "SMALLER":
		k.Op = map[string]SearchOp{"LARGER": SearchLarger, "SMALLER": SearchSmaller}[name]
		k.Size, err = r.number64(1<<63-1, "size")
	case "UID":
		k.Op = SearchUID
		k.Set, err = r.seqSet()
	case "NOT":
		var c SearchKey
		c, err = r.subKey()
		k = SearchKey{Op: SearchNot, Children: []SearchKey{c}}
	case "OR":
		var c1, c2 SearchKey
		if c1, err = r.subKey(); err == nil {
			if err = r.sp(); err == nil {
				c2, err = r.subKey()
			}
		}
		k = SearchKey{Op: SearchOr, Children: []SearchKey{c1, c2}}
	case "MODSEQ":
		k.Op = SearchModSeq
		err = r.searchModSeq(&k)
	case "EMAILID", "THREADID":
		k.Op = map[string]SearchOp{"EMAILID": SearchEmailID, "THREADID": SearchThreadID}[name]
		k.Value, err = r.objectID()
	default:
		return SearchKey{}, r.errorf("unknown search key %s", name)
	}
	return k, err
}

func (r *Reader) subKey() (SearchKey, error) {
	name, err := r.searchWord()
	if err != nil {
		return SearchKey{}, err
	}
	return r.searchKey(name)
}

// searchGroup parses the keys of "(" ... ")" after the "(".
func (r *Reader) searchGroup() (SearchKey, error) {
	var keys []SearchKey
	err := r.items(false, func() error {
		k, err := r.subKey()
		keys = append(keys, k)
		return err
	})
	if err != nil {
		return SearchKey{}, err
	}
	return andKeys(keys), nil
}

// searchModSeq parses MODSEQ [entry-name SP entry-type] mod-sequence-valzer.
func (r *Reader) searchModSeq(k *SearchKey) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if c == '"' {
		if k.ModSeqEntry, err = r.quoted(); err != nil {
			return err
		}
		if !strings.HasPrefix(strings.ToLower(k.ModSeqEntry), "/flags/") {
			return r.errorf("invalid MODSEQ entry name")
		}
		if err := r.sp(); err != nil {
			return err
		}
		t, err := r.keyword("entry type")
		if err != nil {
			return err
		}
		if t != "PRIV" && t != "SHARED" && t != "ALL" {
			return r.errorf("invalid MODSEQ entry type")
		}
		k.ModSeqType = strings.ToLower(t)
		if err := r.sp(); err != nil {
			return err
		}
	}
	k.ModSeq, err = r.modSeq(true)
	return err
}
