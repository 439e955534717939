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
// The message itself is read by internal/mime, the MIME parser shared
// with the content checks: Message is a mime.Message (MIME returns it),
// so the header, the tree, parameters and decoding (lenient, bounded to
// 32 levels and 10000 parts, never failing) are mime's, and imapmsg adds
// only what IMAP defines on top: part numbering, section specifiers, the
// ENVELOPE address and date rules, BODYSTRUCTURE and SEARCH matching.
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
