package main

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"mailwarden/internal/aliases"
	"mailwarden/internal/config"
)

// localAliases are the aliases of the local names ([local] aliases over
// [local] alias_file), re-read at every reload as newaliases would.
type localAliases struct{ m atomic.Pointer[aliases.Map] }

// load reads cfg's alias file (when it exists) and aliases.
func (la *localAliases) load(cfg *config.Config, log *slog.Logger) {
	m := aliases.Map{}
	if f := cfg.Local.AliasFile; f != "" {
		fh, err := os.Open(f)
		switch {
		case err == nil:
			fm, warnings, err := aliases.Parse(fh)
			fh.Close()
			for _, w := range warnings {
				log.Warn("local.alias_file " + f + ": " + w)
			}
			if err != nil {
				log.Warn("local.alias_file " + f + ": " + err.Error())
			} else {
				m = fm
			}
		case !errors.Is(err, os.ErrNotExist):
			log.Warn("local.alias_file: " + err.Error())
		}
	}
	for name, v := range cfg.Local.Aliases {
		var ts []string
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				ts = append(ts, t)
			}
		}
		m[strings.ToLower(name)] = ts
	}
	la.m.Store(&m)
}

// expand is the directory's local-alias hook: names at hostname or
// localhost (Postfix's mydestination) that lead to addresses.
func (la *localAliases) expand(current func() *config.Config) func(local, domain string) []string {
	return func(local, domain string) []string {
		cfg := current()
		if !strings.EqualFold(domain, cfg.Hostname) && !strings.EqualFold(domain, "localhost") {
			return nil
		}
		m := la.m.Load()
		if m == nil {
			return nil
		}
		return m.Expand(local)
	}
}
