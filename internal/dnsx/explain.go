package dnsx

import (
	"errors"
	"strings"
)

// nameError is a failed lookup with its question, so that what a user
// reads can say it as Postfix does; Error keeps the detail for the log.
type nameError struct {
	msg    string // the log's text
	name   string
	qtype  string // "MX", "A" ...
	kind   error  // ErrNotFound or ErrTemporary
	nodata bool   // the name exists without records of qtype
	cause  error
}

func (e *nameError) Error() string { return e.msg }

func (e *nameError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Explain words a lookup error for the person reading a bounce or a
// deferral, as Postfix's smtp client does ("Host or domain name not
// found. Name service error for name=example.com type=MX: Host not
// found"), without resolver addresses or package names.
func Explain(err error) string {
	var ne *nameError
	if !errors.As(err, &ne) {
		return strings.TrimPrefix(err.Error(), "dnsx: ")
	}
	what := "Host not found"
	switch {
	case errors.Is(ne.kind, ErrTemporary):
		what = "Host not found, try again"
	case ne.nodata:
		what = "No address associated with hostname"
	}
	return "Host or domain name not found. Name service error for name=" + strings.TrimSuffix(ne.name, ".") + " type=" + ne.qtype + ": " + what
}
