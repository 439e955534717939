package imapwire

import (
	"errors"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
)

// SeqRange is one element of a sequence set: Start:Stop as sent, where 0
// stands for "*" (the largest number in use). A single number has
// Start == Stop. Start may be greater than Stop ("*:3", "7:2").
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is a sequence set of message sequence numbers or UIDs. Saved is
// set for "$" (SEARCHRES, RFC 5182): the server substitutes the result of
// the last SEARCH ... RETURN (SAVE) and Ranges is empty.
type SeqSet struct {
	Ranges []SeqRange
	Saved  bool
}

// ParseSeqSet parses a sequence-set such as "1:*", "*:3", "2,4:7,9" or "$".
func ParseSeqSet(s string) (SeqSet, error) {
	if s == "$" {
		return SeqSet{Saved: true}, nil
	}
	if s == "" {
		return SeqSet{}, errors.New("empty sequence set")
	}
	var set SeqSet
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return SeqSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return SeqSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, SeqRange{start, stop})
	}
	return set, nil
}

// parseSeqNumber parses nz-number or "*" (returned as 0).
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	if s == "" || !allDigits(s) {
		return 0, errors.New("invalid sequence set")
	}
	if s[0] == '0' {
		return 0, errors.New("invalid sequence number 0")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("sequence number out of range")
	}
	return uint32(n), nil
}

// NewSeqSet returns a compact set holding nums (in any order), e.g. for
// COPYUID, APPENDUID, VANISHED or ESEARCH ALL.
func NewSeqSet(nums ...uint32) SeqSet {
	s := slices.Clone(nums)
	slices.Sort(s)
	var set SeqSet
	for _, n := range s {
		if n == 0 {
			continue
		}
		if k := len(set.Ranges); k > 0 && set.Ranges[k-1].Stop >= n-1 {
			set.Ranges[k-1].Stop = n
			continue
		}
		set.Ranges = append(set.Ranges, SeqRange{n, n})
	}
	return set
}

// String formats the set in IMAP syntax ("" for an empty set).
func (s SeqSet) String() string {
	if s.Saved {
		return "$"
	}
	var b strings.Builder
	num := func(n uint32) {
		if n == 0 {
			b.WriteByte('*')
		} else {
			b.WriteString(strconv.FormatUint(uint64(n), 10))
		}
	}
	for i, r := range s.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		num(r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			num(r.Stop)
		}
	}
	return b.String()
}

// IsEmpty reports whether the set has no ranges and is not "$".
func (s SeqSet) IsEmpty() bool { return !s.Saved && len(s.Ranges) == 0 }

// Dynamic reports whether the set contains "*".
func (s SeqSet) Dynamic() bool {
	for _, r := range s.Ranges {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// InBounds reports whether every explicit number is at most max. For
// message sequence numbers a number beyond the mailbox size is an error
// the server answers with BAD (RFC 9051 6.4.5); for UIDs it is normal.
func (s SeqSet) InBounds(max uint32) bool {
	for _, r := range s.Ranges {
		if r.Start > max || r.Stop > max {
			return false
		}
	}
	return true
}

// concrete returns r with "*" replaced by max and Start <= Stop.
func (r SeqRange) concrete(max uint32) (uint32, uint32) {
	a, b := r.Start, r.Stop
	if a == 0 {
		a = max
	}
	if b == 0 {
		b = max
	}
	if a > b {
		a, b = b, a
	}
	return a, b
}

// Contains reports whether n is in the set when the largest number in use
// (the value of "*") is max. Always false for "$".
func (s SeqSet) Contains(n, max uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range s.Ranges {
		if a, b := r.concrete(max); a <= n && n <= b {
			return true
		}
	}
	return false
}

// Resolve returns the set as sorted, merged, non-overlapping concrete
// ranges within 1..max, "*" replaced by max. "5:*" with max 3 yields 3:3
// (RFC 9051 6.4.8: "*" is the largest UID even if below 5).
func (s SeqSet) Resolve(top uint32) []SeqRange {
	if top == 0 {
		return nil
	}
	var out []SeqRange
	for _, r := range s.Ranges {
		a, b := r.concrete(top)
		b = min(b, top)
		if a > b {
			continue
		}
		out = append(out, SeqRange{a, b})
	}
	slices.SortFunc(out, func(x, y SeqRange) int { return int(int64(x.Start) - int64(y.Start)) })
	merged := out[:0]
	for _, r := range out {
		if k := len(merged); k > 0 && uint64(merged[k-1].Stop)+1 >= uint64(r.Start) {
			merged[k-1].Stop = max(merged[k-1].Stop, r.Stop)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// All yields the numbers of the set within 1..max in ascending order,
// each once.
func (s SeqSet) All(max uint32) iter.Seq[uint32] {
	ranges := s.Resolve(max)
	return func(yield func(uint32) bool) {
		for _, r := range ranges {
			for n := uint64(r.Start); n <= uint64(r.Stop) && n <= math.MaxUint32; n++ {
				if !yield(uint32(n)) {
					return
				}
			}
		}
	}
}
