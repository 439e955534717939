// Package event defines one Go type per mail event (a connection, a
// rejected RCPT, a queued message, a delivery attempt, a login ...) and a
// small synchronous Bus that hands each published event to every
// subscriber. The mail log (internal/mlog) and the Prometheus metrics
// (internal/metrics) are two subscribers, so they never disagree.
//
// Events are plain data: this package neither formats nor counts them and
// does no I/O. Publishers fill in what they know; a subscriber must not
// keep or modify an event after Handle returns.
package event
