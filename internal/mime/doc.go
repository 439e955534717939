// Package mime is Mailwarden's one MIME parser, shared by the IMAP server
// (through imapmsg) and by the checks and filters that look inside a
// message at end of data. It owns reading a message's structure:
//
//   - the header section (ParseHeader, HeaderEnd, Header): fields in
//     order with their original bytes, folded lines included, names
//     compared case-insensitively, values unfolded (Value) or with RFC
//     2047 encoded-words decoded (Text, DecodeHeader);
//   - the MIME tree (Parse, Message.Root, Message.Walk, Part): media type
//     and parameters (ParseMediaType, RFC 2045 5.1; RFC 2231
//     continuations joined and decoded by Params.Text), disposition and
//     filename (RFC 2183), content as stored, transfer-decoded
//     (DecodeTransfer, RFC 2045 6) and as UTF-8 text (ToUTF8, with
//     go-message's charset tables);
//   - reading a spooled body once for a check (ReadBody), and once for
//     all the checks of a stage (Shared).
//
// Parse never fails. The tree is built on first use by a lenient parser
// written from RFC 2045-2047 and 2231: a missing or unreadable
// Content-Type makes a part text/plain (multipart/digest parts default
// to message/rfc822), a multipart without boundary parameter is
// text/plain, a missing close delimiter ends the last part at the end of
// its parent, delimiters are matched exactly (RFC 2046 5.1.1) so that
// nested boundaries that share a prefix work, a body part whose first
// line is not a header field has no header, and a header without its
// empty line ends at the end of the entity. Nesting stops at MaxDepth
// (32) levels and a message at MaxParts (10000) parts; deeper or further
// content is plain text. Transfer decoding is lenient (invalid base64
// characters are skipped, malformed quoted-printable kept). Nothing is
// copied: offsets index the message's bytes, so sizes and sections agree
// with what is stored; decoding allocates only what it returns.
//
// It must not know about any protocol: IMAP's ENVELOPE, BODYSTRUCTURE,
// section numbers and SEARCH rules live in imapmsg, SMTP and policy
// verdicts in their packages. It never modifies a message; header edits
// are applied by delivery using ParseHeader.
package mime
