package main

import (
	"fmt"
	"os"
	"reflect"

	"mailwarden/internal/config"
)

// prepareDataDir creates data_dir when missing and checks that this
// process can write it, with the path and what to do when not.
func prepareDataDir(cfg *config.Config) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir %s: %v — %s", cfg.DataDir, unwrapPath(err), dataDirHint(cfg.DataDir))
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	return nil
}

// restartKeys names the settings that differ between old and cfg and
// that the running server read once at start: a reload keeps their old
// values and says so.
func restartKeys(old, cfg *config.Config) []string {
	var keys []string
	for _, k := range []struct {
		name     string
		was, now any
	}{
		{"data_dir", old.DataDir, cfg.DataDir},
		{"[listen]", old.Listen, cfg.Listen},
		{"[queue]", old.Queue, cfg.Queue},
		{"[dns]", old.DNS, cfg.DNS},
		{"tls.cert_file/key_file", old.TLS, cfg.TLS},
		{"[metrics]", old.Metrics, cfg.Metrics},
		{"[log]", old.Log, cfg.Log},
		{"delivery.fsync", old.Delivery.Fsync, cfg.Delivery.Fsync},
	} {
		if !reflect.DeepEqual(k.was, k.now) {
			keys = append(keys, k.name)
		}
	}
	return keys
}
