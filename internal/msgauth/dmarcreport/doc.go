// Package dmarcreport keeps DMARC's state in SQL and moves aggregate
// reports (RFC 7489 7.2): it records the result of every message DMARC
// evaluated (aggregated per report period), sends one report per policy
// domain and period to the domain's verified rua= addresses through the
// queue (claimed in SQL so that one node of several sends it), and reads
// the reports other receivers send about our domains, from a file or a
// local mailbox, into SQL for `mailwarden dmarc reports`.
//
// It does not evaluate DMARC (package dmarc does) and delivers nothing
// itself: reports go out as queued messages.
package dmarcreport
