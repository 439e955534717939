// Package imapmsg is the message-structure half of Mailwarden's IMAP
// server: given one stored message (raw bytes with CRLF line ends, bare LF
// tolerated) it answers the FETCH items that look inside a message and the
// SEARCH keys that match its content.
//
//   - ENVELOPE (Message.WriteEnvelope) and BODY/BODYSTRUCTURE
//     (Message.WriteBodyStructure) are written with *imapwire.Writer, RFC
//     9051 7.5.2 and RFC 3501 7.4.2.
//   - BODY[section] (Message.Section) and BINARY[part] (Message.Binary,
//     RFC 3516) return byte slices; the server applies <partial> itself.
//   - HeaderContains, HasHeader, BodyContains, TextContains and Date serve
//     SEARCH HEADER/FROM/SUBJECT..., BODY, TEXT and SENT*.
//
// Part numbering follows RFC 9051 6.4.5: the parts of a multipart are
// numbered from 1, a message/rfc822 part's sub-parts are those of the
// message it holds, and a non-multipart message has one part, its body.
//
// Parse never fails. The MIME tree is built on first use by a lenient
// parser written from RFC 2045-2047 and 2231: a missing or unreadable
// Content-Type makes a part text/plain (multipart/digest parts default to
// message/rfc822), a multipart without boundary parameter is text/plain, a
// missing close delimiter ends the last part at the end of its parent,
// delimiters are matched exactly (RFC 2046 5.1.1) so that nested
// boundaries that share a prefix work, a body part whose first line is
// not a header field has no header, and a header without its empty line
// ends at the end of the entity. Nesting stops at 32 levels and a
// message at 10000 parts; deeper or further content is plain text.
// go-message supplies the charset tables for RFC 2047 words and body
// search; transfer decoding is lenient (invalid base64 characters are
// skipped, malformed quoted-printable kept).
//
// Offsets and sizes are those of the stored bytes, so that BODYSTRUCTURE
// sizes, RFC822.SIZE and the BODY[...] data agree.
//
// NewCache makes what a mail index keeps so that the common requests need
// no file (cache.go): the ENVELOPE as written for IMAP4rev1 clients, and
// the header fields of the envelope plus those clients list messages by
// (References, Content-Type, priorities, List-*), with their original
// bytes: parsed alone they answer the envelope, HEADER.FIELDS of those
// names and header searches on them exactly as the message does (fuzzed).
// A header that does not end within 64 KB, or cached data over 16 KB,
// is not cached.
package imapmsg
