// Package dsn builds delivery status notifications (DSNs): the bounce,
// delay-warning and success reports a mail server sends back to the
// envelope sender of a message.
//
// A notification is a multipart/report (RFC 6522, formerly RFC 3462)
// with report-type=delivery-status. It has three parts:
//
//  1. text/plain: a human-readable explanation, worded like the
//     notices Postfix sends, listing every recipient with its
//     diagnostic;
//  2. message/delivery-status (RFC 3464): the machine-readable report,
//     per-message fields followed by one block of per-recipient fields
//     per recipient, with RFC 3463 enhanced status codes;
//  3. the returned message: message/rfc822 with the whole original for
//     failures (unless the sender asked for RET=HDRS, RFC 3461, or the
//     original is larger than Report.MaxOriginal), otherwise
//     text/rfc822-headers with the original header only.
//
// When an address involved is not ASCII (an SMTPUTF8 message) or
// Report.SMTPUTF8 is set, the report follows RFC 6533 instead: the
// report part is message/global-delivery-status (report-type
// global-delivery-status), non-ASCII addresses use the "utf-8" address
// type, and the returned message is message/global or
// message/global-headers. Only then may header fields carry raw UTF-8
// (RFC 6532); otherwise every header field is plain ASCII.
//
// The notification is sent with a null envelope sender and carries
// Auto-Submitted: auto-replied (RFC 3834). NeverBounce tells the queue
// which messages must never cause a notification in turn: those with a
// null sender, auto-submitted messages and delivery reports themselves.
//
// All output uses CRLF line endings and no line exceeds 998 octets:
// long fields are folded at white space (and, failing that, split),
// and a returned part that cannot be carried as 7bit or 8bit data is
// replaced by its header block, quoted-printable encoded if need be.
package dsn
