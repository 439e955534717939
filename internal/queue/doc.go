// Package queue owns the durable outbound queue: a message body file in
// data_dir/queue/<id> and its envelope (sender, per-recipient state) in SQL
// in the same database as everything else. Enqueue returns only when both
// are durable. Scheduling, remote delivery and DSNs build on these records;
// the queue does not decide what is accepted.
package queue
