package imapwire

import (
	"strconv"
	"strings"
)

// SortKey is one SORT criterion (RFC 5256 3, RFC 5957).
type SortKey struct {
	Name    string // ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO
	Reverse bool
}

var sortKeys = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true,
	"SUBJECT": true, "TO": true, "DISPLAYFROM": true, "DISPLAYTO": true,
}

// maxSortKeys bounds the criteria of one SORT: there are nine keys, and
// a key twice adds nothing.
const maxSortKeys = 16

// SortArgs: SORT [RETURN (options)] (criteria) charset search-keys
// (RFC 5256 3, ESORT RFC 5267 3).
type SortArgs struct {
	ESearch bool // RETURN given: answer with ESEARCH
	Return  SearchReturn
	Keys    []SortKey
	Charset string // upper case
	Key     SearchKey
}

func parseSort(r *Reader, _ *Command) (any, error) {
	a := &SortArgs{}
	if err := r.sp(); err != nil {
		return nil, err
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c != '(' {
		w, err := r.keyword("RETURN")
		if err != nil {
			return nil, err
		}
		if w != "RETURN" {
			return nil, r.errorf("expected sort criteria, got %s", w)
		}
		a.ESearch = true
		if a.Return, err = r.searchReturn(); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	if err := r.expect('('); err != nil {
		return nil, err
	}
	reverse := false
	err = r.items(false, func() error {
		k, err := r.keyword("sort key")
		if err != nil {
			return err
		}
		if k == "REVERSE" {
			if reverse {
				return r.errorf("REVERSE REVERSE")
			}
			reverse = true
			if err := r.sp(); err != nil {
				return err
			}
			if k, err = r.keyword("sort key"); err != nil {
				return err
			}
		}
		if !sortKeys[k] {
			return r.errorf("unknown sort key %s", k)
		}
		if len(a.Keys) >= maxSortKeys {
			return r.errorf("too many sort criteria")
		}
		a.Keys = append(a.Keys, SortKey{Name: k, Reverse: reverse})
		reverse = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a.Charset, a.Key, err = r.charsetProgram(); err != nil {
		return nil, err
	}
	return a, nil
}

// charsetProgram reads " charset SP search-keys" of SORT and THREAD,
// where the charset is required.
func (r *Reader) charsetProgram() (string, SearchKey, error) {
	if err := r.sp(); err != nil {
		return "", SearchKey{}, err
	}
	cs, err := r.astring()
	if err != nil {
		return "", SearchKey{}, err
	}
	if err := r.sp(); err != nil {
		return "", SearchKey{}, err
	}
	first, err := r.searchWord()
	if err != nil {
		return "", SearchKey{}, err
	}
	key, err := r.searchProgram(first)
	return strings.ToUpper(cs), key, err
}

// ThreadArgs: THREAD algorithm charset search-keys (RFC 5256 4).
type ThreadArgs struct {
	Algorithm string // upper case
	Charset   string // upper case
	Key       SearchKey
}

func parseThread(r *Reader, _ *Command) (any, error) {
	a := &ThreadArgs{}
	if err := r.sp(); err != nil {
		return nil, err
	}
	var err error
	if a.Algorithm, err = r.keyword("thread algorithm"); err != nil {
		return nil, err
	}
	if a.Charset, a.Key, err = r.charsetProgram(); err != nil {
		return nil, err
	}
	return a, nil
}

// partialRange reads "n:m" of PARTIAL (RFC 9394 3.1): both positive or
// both negative, non-zero, 32-bit; the two may come in either order.
func (r *Reader) partialRange() (PartialRange, error) {
	s, err := r.readWhile(func(c byte) bool { return isDigit(c) || c == ':' || c == '-' })
	if err != nil {
		return PartialRange{}, err
	}
	lo, hi, ok := strings.Cut(s, ":")
	a, err1 := strconv.ParseInt(lo, 10, 32)
	b, err2 := strconv.ParseInt(hi, 10, 32)
	if !ok || err1 != nil || err2 != nil || a == 0 || b == 0 || (a < 0) != (b < 0) {
		return PartialRange{}, r.errorf("invalid PARTIAL range %q", s)
	}
	if (a > 0 && a > b) || (a < 0 && a < b) {
		a, b = b, a
	}
	return PartialRange{First: int32(a), Last: int32(b)}, nil
}
