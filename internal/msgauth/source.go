package msgauth

import (
	"sync"

	"mailwarden/internal/config"
)

// Source builds the Auth of a config once and keeps it until the config
// changes (SIGHUP). When a new config's methods cannot be built, the
// error is returned and the previous Auth stays in use.
type Source struct {
	Deps func(cfg *config.Config) Deps

	mu   sync.Mutex
	cfg  *config.Config
	auth *Auth
}

// For returns the Auth for cfg.
func (s *Source) For(cfg *config.Config) (*Auth, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == cfg && s.auth != nil {
		return s.auth, nil
	}
	d := Deps{Config: cfg}
	if s.Deps != nil {
		d = s.Deps(cfg)
		d.Config = cfg
	}
	a, err := New(d)
	if err != nil {
		return s.auth, err
	}
	s.cfg, s.auth = cfg, a
	return a, nil
}
