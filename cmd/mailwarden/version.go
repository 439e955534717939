package main

import (
	"runtime/debug"
	"strings"
)

// version is the release, set at build time with
// -ldflags "-X main.version=1.2.3" (scripts/build-deb.sh does); without
// it, the module version Go recorded ("(devel)" for a source build).
var version = ""

// commit is the source revision, set with -ldflags "-X main.commit=..."
// where Go cannot record it itself (builds from a git worktree,
// -buildvcs=false).
var commit = ""

// versionString is the release and the commit it was built from, as
// Go's build info records them: "1.2.3 (commit 0123abcd4567, 2026-12-03T10:00:00Z)",
// "+dirty" when the tree had uncommitted changes.
func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" {
		v = "devel"
		if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if !ok {
		return v
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		rev = commit
	}
	if rev == "" {
		return v + " (no commit recorded, " + bi.GoVersion + ")"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	parts := []string{"commit " + rev}
	if when != "" {
		parts = append(parts, when)
	}
	parts = append(parts, bi.GoVersion)
	return v + " (" + strings.Join(parts, ", ") + ")"
}
