package main

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/greylist"
	"mailwarden/internal/msgauth"
	"mailwarden/internal/policy"
)

// loadServerConfig loads the config file and checks what the config
// package cannot: that every [restrictions] entry names a restriction the
// server knows (policy.Build), so a mistake is found at start, reload or
// check-config, with its line, not at the first RCPT.
func loadServerConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if _, err := policy.Build("smtp", cfg, policy.Deps{Restrictions: restrictionSyntax()}); err != nil {
		e := &config.Error{File: path, Msg: err.Error()}
		var be *policy.BuildError
		if errors.As(err, &be) {
			e.Line = lineOf(path, strconv.Quote(be.Entry))
		}
		return nil, config.Errors{e}
	}
	if err := checkTarpitLists(cfg); err != nil {
		return nil, config.Errors{&config.Error{File: path, Line: lineOf(path, "check_greylist"), Msg: err.Error()}}
	}
	if err := greylist.CheckFiles(cfg.Greylist, cfg.RecipientDelimiter); err != nil {
		return nil, config.Errors{&config.Error{File: path, Line: lineOf(path, "whitelist_"), Msg: err.Error()}}
	}
	// SPF, DKIM, ARC, DMARC: their sections, tables and key files.
	if _, err := msgauth.New(msgauth.Deps{Config: cfg}); err != nil {
		return nil, config.Errors{&config.Error{File: path, Msg: err.Error()}}
	}
	return cfg, nil
}

// restrictionSyntax are the restrictions serve supplies from other
// packages (policy.Deps.Restrictions), as far as checking a config needs
// them: their names and arguments.
func restrictionSyntax() map[string]policy.Factory {
	return map[string]policy.Factory{"check_greylist": greylist.Syntax()}
}

// checkTarpitLists: with [greylist] tarpit on, a client that sat through
// the tarpit at RCPT passes when it reaches DATA, so check_greylist must
// stand in the data list as well as at RCPT time (taRgrey's setup asks
// the same policy service from smtpd_recipient_restrictions and
// smtpd_data_restrictions).
func checkTarpitLists(cfg *config.Config) error {
	if cfg.Greylist.Tarpit <= 0 {
		return nil
	}
	has := func(l []string) bool {
		for _, e := range l {
			if f := strings.Fields(e); len(f) > 0 && strings.EqualFold(f[0], "check_greylist") {
				return true
			}
		}
		return false
	}
	rs := cfg.Restrictions
	atRcpt := has(rs.Recipient) || has(rs.Relay) || rs.DelayReject && (has(rs.Client) || has(rs.Helo) || has(rs.Sender))
	for _, l := range rs.Classes {
		atRcpt = atRcpt || has(l)
	}
	if atRcpt && !has(rs.Data) && !has(rs.EndOfData) {
		return errors.New("greylist.tarpit: check_greylist must also stand in restrictions.data (or end_of_data): a tarpitted client passes when it reaches DATA")
	}
	return nil
}

// lineOf is the 1-based number of the first line of file that contains s,
// 0 when none does.
func lineOf(file, s string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}
