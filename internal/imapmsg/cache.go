package imapmsg

import (
	"bufio"
	"bytes"
	"sync"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/mime"
)

// CacheVersion identifies what NewCache makes: the cached field set and
// the way the envelope is written. Bump it whenever either changes, so
// that entries made before are taken as missing and made again.
const CacheVersion = 1

// Bounds of the cache: the header must end within MaxCacheScan octets of
// the message, and the cached data must fit in maxCacheData octets;
// other messages are not cached (the server reads their file).
const (
	MaxCacheScan = 64 << 10
	maxCacheData = 16 << 10
)

// Cache is what a mail index keeps of one message so that FETCH ENVELOPE,
// BODY[HEADER.FIELDS (...)] of cached fields and the SEARCH keys on them
// are answered without reading the message (Dovecot keeps the same in
// dovecot.index.cache). It is made once, when the message is stored.
//
//   - Envelope is the ENVELOPE as WriteEnvelope writes it for a client
//     without UTF8=ACCEPT (default MaxQuoted), parentheses included.
//   - Fields is the top-level header fields whose names CachedField
//     accepts, in their order, each with its original bytes (folding and
//     line end included; a last line without one gets it as
//     HEADER.FIELDS adds it), then an empty line: parsed alone it gives
//     the same envelope, the same HEADER.FIELDS of those names and the
//     same header search results as the whole message (FromCache). It is
//     never empty.
//
// A Cache that is not Valid holds nothing: the message could not be
// cached and must be read. A reader may load only the part it needs:
// WriteCachedEnvelope then works from Fields.
type Cache struct {
	Valid    bool
	Envelope []byte
	Fields   []byte
}

// cachedNames are the fields of the envelope (RFC 9051 7.5.2) plus those
// clients commonly fetch with HEADER.FIELDS to list messages (Thunderbird,
// Roundcube, mutt, K-9: threading, priority, mailing lists, type); bulky
// trace fields (Received, DKIM-Signature, ARC-*) are left out.
var cachedNames = map[string]bool{
	"date": true, "subject": true, "from": true, "sender": true, "reply-to": true,
	"to": true, "cc": true, "bcc": true, "in-reply-to": true, "message-id": true,
	"references": true, "content-type": true, "priority": true, "x-priority": true,
	"importance": true, "newsgroups": true, "list-id": true, "list-post": true,
	"list-unsubscribe": true, "disposition-notification-to": true,
}

// maxNameLen is longer than every cached name.
const maxNameLen = 32

// cachedName reports whether name is a cached field name, comparing as
// mime.Header.Is does (ASCII letters case-insensitively, nothing else folded).
func cachedName[S ~string | ~[]byte](name S) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	var buf [maxNameLen]byte
	for i := 0; i < len(name); i++ {
		buf[i] = lower(name[i])
	}
	return cachedNames[string(buf[:len(name)])]
}

// CachedField reports whether the header field name is one a Cache holds.
func CachedField(name string) bool { return cachedName(name) }

// CachedFields reports whether every name is one a Cache holds, so that
// HEADER.FIELDS of names can be answered from it.
func CachedFields(names []string) bool {
	for _, n := range names {
		if !cachedName(n) {
			return false
		}
	}
	return len(names) > 0
}

// HeaderEnd returns the length of the header section at the start of b,
// its empty line included, or -1 when b holds no complete header
// (mime.HeaderEnd).
func HeaderEnd(b []byte) int { return mime.HeaderEnd(b) }

// NewCache makes the Cache of a message from prefix, the start of its
// bytes; complete says that prefix is the whole message. The result is
// not valid when the header does not end within prefix (or within
// MaxCacheScan octets) or the cached data would be too large.
func NewCache(prefix []byte, complete bool) Cache {
	end := HeaderEnd(prefix[:min(len(prefix), MaxCacheScan)])
	switch {
	case end >= 0:
	case complete && len(prefix) <= MaxCacheScan:
		end = len(prefix) // a message without body
	default:
		return Cache{}
	}
	h, _ := mime.ParseHeader(prefix[:end])
	n := 0
	for i := range h.Len() {
		if name := h.NameBytes(i); name != nil && cachedName(name) {
			n += len(h.Raw(i))
		}
	}
	if n > maxCacheData {
		return Cache{}
	}
	fields := make([]byte, 0, n+4)
	for i := range h.Len() {
		if name := h.NameBytes(i); name != nil && cachedName(name) {
			fields = append(fields, h.Raw(i)...)
		}
	}
	// Only the header's last line may lack its line end: end it as
	// fieldsSubset does, so that HEADER.FIELDS is the same.
	if len(fields) > 0 {
		switch fields[len(fields)-1] {
		case '\n':
		case '\r':
			fields = append(fields, '\n')
		default:
			fields = append(fields, '\r', '\n')
		}
	}
	fields = append(fields, '\r', '\n')
	env := renderEnvelope(fields)
	if len(env)+len(fields) > maxCacheData {
		return Cache{}
	}
	return Cache{Valid: true, Envelope: env, Fields: fields}
}

// envBuf is a reusable buffer to render envelopes into.
type envBuf struct {
	buf bytes.Buffer
	bw  *bufio.Writer
}

var envBufs = sync.Pool{New: func() any {
	e := &envBuf{}
	e.bw = bufio.NewWriterSize(&e.buf, 1024)
	return e
}}

// renderEnvelope writes the envelope of the header fields, as for a
// client without UTF8=ACCEPT.
func renderEnvelope(fields []byte) []byte {
	e := envBufs.Get().(*envBuf)
	h, _ := mime.ParseHeader(fields)
	writeEnvelope(imapwire.NewWriter(e.bw), &h)
	e.bw.Flush()
	out := bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	if e.buf.Cap() <= 64<<10 {
		envBufs.Put(e)
	}
	return out
}

// FromCache returns a Message made of a Cache's fields. Its envelope, its
// HEADER.FIELDS of cached names, HeaderContains and HasHeader of cached
// names and Date are those of the message the Cache was made from;
// nothing else of it is.
func FromCache(c Cache) *Message { return Parse(c.Fields) }

// WriteCachedEnvelope writes the ENVELOPE of the message the valid c was
// made from: the stored text when w writes as it was made (no UTF8,
// default MaxQuoted) and c holds it, else computed from the cached fields.
func WriteCachedEnvelope(w *imapwire.Writer, c Cache) {
	env := c.Envelope
	if w.UTF8 || w.MaxQuoted != imapwire.DefaultMaxQuoted || len(env) < 2 || env[0] != '(' || env[len(env)-1] != ')' {
		FromCache(c).WriteEnvelope(w)
		return
	}
	w.Open()
	w.Write(env[1 : len(env)-1])
	w.Close()
}
