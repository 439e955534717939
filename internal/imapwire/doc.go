// Package imapwire is the IMAP wire protocol of Mailwarden's IMAP server: a
// streaming command reader and a response writer. It knows the syntax of
// IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) commands plus the extensions
// the server offers (CONDSTORE/QRESYNC, LITERAL+, LIST-EXTENDED, LIST-STATUS,
// ESEARCH, SEARCHRES, QUOTA, SPECIAL-USE, ID, ENABLE, UNSELECT, MOVE, UIDPLUS,
// APPENDLIMIT, SASL-IR, NOTIFY, CONTEXT=SEARCH/SORT, CATENATE, URLAUTH, OBJECTID,
// METADATA), and nothing about mailboxes, sessions or state.
//
// Reading: Reader.ReadCommand returns one *Command whose Args field holds a
// typed value (*LoginArgs, *FetchArgs, *SearchArgs...; see Command). Syntax
// errors come back as *ParseError carrying the tag, so the server answers
// "TAG BAD message" (or "* BAD" when no tag was read). When ParseError.Close
// is set the input cannot be resynchronised and the server must close the
// connection after replying. Any other error is an I/O error.
//
// Literals: a synchronizing literal {n} is accepted only after everything
// before it parsed; then the reader writes "+ Ready for literal data" to the
// continuation writer and reads the data. Non-synchronizing literals {n+}
// (LITERAL+) are read directly; an oversized one is drained or, when too big
// to drain, makes the error fatal (RFC 7888 section 4). The message of
// APPEND is not buffered: AppendArgs.Message streams it and the server must
// call Reader.EndAppend before replying. A CATENATE message (RFC 4469)
// streams its parts one by one through Reader.NextPart, TEXT data as a
// Literal; Reader.SkipAppend abandons the command when a part is refused.
//
// Limits: every line (literal data excluded) is at most maxLine bytes,
// literals other than the APPEND message at most MaxArgLiteral, one command
// at most MaxCommand bytes in memory, the APPEND message at most maxLiteral.
//
// Writing: Writer builds response lines token by token with automatic
// spacing, picks quoted strings or literals as the content requires, and
// encodes mailbox names in modified UTF-7 unless UTF8=ACCEPT is enabled.
package imapwire
