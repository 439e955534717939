// Package metrics exports Prometheus metrics: an event.Subscriber counts
// the same mail events the log writer writes (so the two never disagree),
// and a collector reads the queue size by state at scrape time. It serves
// /metrics; it does not log and does not decide anything.
package metrics
