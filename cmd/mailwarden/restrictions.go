package main

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"mailwarden/internal/config"
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
	if _, err := policy.Build("smtp", cfg, policy.Deps{}); err != nil {
		e := &config.Error{File: path, Msg: err.Error()}
		var be *policy.BuildError
		if errors.As(err, &be) {
			e.Line = lineOf(path, strconv.Quote(be.Entry))
		}
		return nil, config.Errors{e}
	}
	return cfg, nil
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
