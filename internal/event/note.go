package event

import "log/slog"

// Note is free text for everything without its own type yet (warnings,
// daemon start and stop, recovery). Prefer a typed event for anything a
// log tool or a metric counts.
type Note struct {
	Program Program
	Level   slog.Level // Warn and above print "warning: ", Error "error: "
	Text    string
}
