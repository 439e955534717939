package arc

import (
	"fmt"
	"mailwarden/internal/msgauth/dkimcore"
	"strings"
)

// Field names of an ARC set (RFC 8617 4.1).
const (
	nameAAR = "arc-authentication-results"
	nameAMS = "arc-message-signature"
	nameAS  = "arc-seal"
)

// set is one ARC set as found in the header.
type set struct {
	instance    int
	aar         []byte // raw fields
	ams, as     []byte
	amsSig      *signature
	asSig       *signature
	amsErr      error // why the AMS did not parse
	asErr       error
	aarPayload  string // the AAR value after "i=N;"
	duplicate   bool
	missingPart bool
}

// chain is what collect found: the sets by instance (index 0 unused),
// the highest instance and whether the structure is broken.
type chain struct {
	sets   []*set
	max    int
	broken string // why the structure is invalid, "" when it is not
}

// aarInstance reads the "i=N;" that starts an AAR value (RFC 8617 4.1.1).
func aarInstance(v string) (int, string, error) {
	tag, rest, ok := strings.Cut(v, ";")
	if !ok {
		return 0, "", fmt.Errorf("%w: AAR without \"i=N;\"", errBadSig)
	}
	name, num, ok := strings.Cut(strings.TrimSpace(tag), "=")
	if !ok || strings.TrimSpace(name) != "i" {
		return 0, "", fmt.Errorf("%w: AAR does not start with i=", errBadSig)
	}
	n, err := parseInstance(strings.TrimSpace(num))
	return n, strings.TrimSpace(rest), err
}

// instanceOf reads i= of an AMS or AS value without parsing the rest, so
// a set whose signature is malformed still has its place.
func instanceOf(v string) (int, error) {
	for _, spec := range strings.Split(v, ";") {
		name, num, ok := strings.Cut(spec, "=")
		if ok && strings.Trim(name, " \t\r\n") == "i" {
			return parseInstance(strings.Trim(num, " \t\r\n"))
		}
	}
	return 0, fmt.Errorf("%w: no i= tag", errBadSig)
}

// collect gathers the ARC sets of a header (RFC 8617 5.2 steps 1 and
// 3): exactly one field of each kind per instance, instances 1..N.
func collect(fields []dkimcore.Field) *chain {
	c := &chain{sets: make([]*set, MaxInstances+1)}
	count := 0
	for _, f := range fields {
		if f.Name != nameAAR && f.Name != nameAMS && f.Name != nameAS {
			continue
		}
		count++
		if count > 3*MaxInstances {
			c.broken = fmt.Sprintf("more than %d ARC sets", MaxInstances)
			return c
		}
		v := dkimcore.Value(f.Raw)
		var n int
		var err error
		var payload string
		if f.Name == nameAAR {
			n, payload, err = aarInstance(v)
		} else {
			n, err = instanceOf(v)
		}
		if err != nil {
			if c.broken == "" {
				c.broken = fmt.Sprintf("%s: %v", fieldTitle(f.Name), err)
			}
			continue
		}
		s := c.sets[n]
		if s == nil {
			s = &set{instance: n}
			c.sets[n] = s
		}
		c.max = max(c.max, n)
		var slot *[]byte
		switch f.Name {
		case nameAAR:
			slot = &s.aar
			s.aarPayload = payload
		case nameAMS:
			slot = &s.ams
			s.amsSig, s.amsErr = parseSignature(v, false)
		default:
			slot = &s.as
			s.asSig, s.asErr = parseSignature(v, true)
		}
		if *slot != nil {
			s.duplicate = true
			if c.broken == "" {
				c.broken = fmt.Sprintf("two %s fields with i=%d", fieldTitle(f.Name), n)
			}
		}
		*slot = f.Raw
	}
	c.sets = c.sets[:c.max+1]
	for i := 1; i <= c.max && c.broken == ""; i++ {
		s := c.sets[i]
		switch {
		case s == nil:
			c.broken = fmt.Sprintf("no ARC set with i=%d", i)
		case s.aar == nil || s.ams == nil || s.as == nil:
			c.broken = fmt.Sprintf("ARC set i=%d is incomplete", i)
		}
	}
	return c
}

func fieldTitle(name string) string {
	switch name {
	case nameAAR:
		return "ARC-Authentication-Results"
	case nameAMS:
		return "ARC-Message-Signature"
	}
	return "ARC-Seal"
}

// latestCV returns cv= of the AS with the highest instance, "" when it
// cannot be read.
func (c *chain) latestCV() string {
	if c.max == 0 || c.sets[c.max] == nil || c.sets[c.max].asSig == nil {
		return ""
	}
	return c.sets[c.max].asSig.cv
}
