package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/daemon"
)

// problem is one finding of check-config, tied to a line of the file.
type problem struct {
	line int
	msg  string
	warn bool // a warning does not fail the check
}

// checkConfig is a dry run of everything serve does before it accepts
// connections: the config and every file it names (restriction tables,
// transport and password files: loadServerConfig), the TLS certificate
// and key, the data directory, the log file and every listen address.
// Each problem is printed on its own line as file:line: key: what is
// wrong — what to do.
func (c *cli) checkConfig(args []string) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	path := config.PathFrom(c.cfgPath)
	cfg, err := loadServerConfig(path)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(c.stderr, e)
			}
			return fmt.Errorf("%s: %d error(s)", path, len(errs))
		}
		return err
	}
	ps := dryRun(cfg)
	failed := 0
	for _, p := range ps {
		loc := path
		if p.line > 0 {
			loc += ":" + strconv.Itoa(p.line)
		}
		kind := ""
		if p.warn {
			kind = "warning: "
		} else {
			failed++
		}
		fmt.Fprintf(c.stderr, "%s: %s%s\n", loc, kind, p.msg)
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d error(s)", path, failed)
	}
	fmt.Fprintf(c.stdout, "%s: ok\n", path)
	return nil
}

// dryRun finds what would stop serve (or trouble it soon) in a config
// that parsed.
func dryRun(cfg *config.Config) []problem {
	var ps []problem
	add := func(key string, warn bool, format string, a ...any) {
		ps = append(ps, problem{line: config.KeyLine(cfg.Path, key), msg: key + ": " + fmt.Sprintf(format, a...), warn: warn})
	}
	acct, err := lookupAccount(cfg)
	if err != nil {
		add("user", false, "%v", err)
	}
	if os.Geteuid() == 0 && acct != nil {
		// serve will run as acct: the data_dir must be (or become) its.
		if _, err := os.Stat(cfg.DataDir); err == nil {
			if err := checkOwner(cfg.DataDir, acct); err != nil {
				add("data_dir", false, "%v", err)
			}
		}
	} else if err := checkDataDir(cfg.DataDir); err != nil {
		add("data_dir", false, "%v", err)
	}
	checkTLS(cfg, add)
	if f := cfg.Log.File; f != "" {
		if err := checkWritableFile(f); err != nil {
			add("log.file", false, "%v", err)
		}
	}
	ps = append(ps, checkListen(cfg)...)
	return ps
}

// checkTLS loads the configured certificate and key as serve does, and
// warns of an expiry within 21 days (certbot renews at 30).
func checkTLS(cfg *config.Config, add func(key string, warn bool, format string, a ...any)) {
	if cfg.TLS.CertFile == "" {
		return // serve makes a self-signed one in data_dir
	}
	ok := true
	for _, f := range []struct{ key, path string }{{"tls.cert_file", cfg.TLS.CertFile}, {"tls.key_file", cfg.TLS.KeyFile}} {
		if _, err := os.ReadFile(f.path); err != nil {
			add(f.key, false, "cannot read %s: %v — check the path and that the server can read it (or leave cert_file and key_file out for a self-signed certificate)", f.path, unwrapPath(err))
			ok = false
		}
	}
	if !ok {
		return
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			add("tls.key_file", false, "%s is not the key of the certificate in %s — give the key file that goes with it (certbot: privkey.pem beside fullchain.pem)", cfg.TLS.KeyFile, cfg.TLS.CertFile)
			return
		}
		add("tls.cert_file", false, "%s with %s: %v — both must be PEM files", cfg.TLS.CertFile, cfg.TLS.KeyFile, err)
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		add("tls.cert_file", false, "%s: %v", cfg.TLS.CertFile, err)
		return
	}
	now := time.Now()
	switch left := leaf.NotAfter.Sub(now); {
	case left <= 0:
		add("tls.cert_file", false, "the certificate in %s expired on %s — renew it (certbot renew), then mailwarden reload", cfg.TLS.CertFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	case left < 21*24*time.Hour:
		add("tls.cert_file", true, "the certificate in %s expires on %s, in %d days — renew it soon", cfg.TLS.CertFile, leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	}
	if leaf.NotBefore.After(now) {
		add("tls.cert_file", true, "the certificate in %s is not valid before %s", cfg.TLS.CertFile, leaf.NotBefore.UTC().Format(time.DateTime))
	}
	if err := leaf.VerifyHostname(cfg.Hostname); err != nil {
		add("tls.cert_file", true, "the certificate in %s is not for hostname %q (%v); clients that check it will refuse it", cfg.TLS.CertFile, cfg.Hostname, err)
	}
}

// checkListen binds every listen address (and metrics.listen) at once, as
// serve does, and closes them again: a port taken by another program, an
// address listed twice, a privileged port without root all show here.
func checkListen(cfg *config.Config) []problem {
	var ps []problem
	all := listenAddrs(cfg)
	var open []net.Listener
	defer func() {
		for _, l := range open {
			l.Close()
		}
	}()
	held := heldByServer(cfg.DataDir)
	for _, la := range all {
		l, err := listenTCP(la.addr, all)
		if errors.Is(err, syscall.EADDRINUSE) && held[servicePort(la.service, la.addr)] {
			continue // the running server's own
		}
		if err != nil {
			ps = append(ps, problem{line: config.KeyLine(cfg.Path, "listen."+la.service), msg: listenError(la, err).Error()})
			continue
		}
		open = append(open, l)
	}
	if m := cfg.Metrics.Listen; m != "" {
		l, err := net.Listen("tcp", m)
		if err != nil {
			ps = append(ps, problem{line: config.KeyLine(cfg.Path, "metrics.listen"), msg: listenError(listenAddr{"metrics", m}, err).Error()})
		} else {
			open = append(open, l)
		}
	}
	return ps
}

// checkDataDir says why serve could not use dir: not a directory, or not
// writable (or, when missing, not creatable) by this process.
func checkDataDir(dir string) error {
	probe := dir
	for {
		st, err := os.Stat(probe)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory — set data_dir to a directory", probe)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %v — %s", probe, unwrapPath(err), dataDirHint(dir))
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return fmt.Errorf("%s: no existing parent directory", dir)
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".mailwarden-check-*")
	if err != nil {
		what := dir
		if probe != dir {
			what = fmt.Sprintf("%s does not exist and cannot be created in %s", dir, probe)
		} else {
			what = dir + " is not writable"
		}
		return fmt.Errorf("%s: %v — %s", what, unwrapPath(err), dataDirHint(dir))
	}
	f.Close()
	os.Remove(f.Name())
	if db := filepath.Join(dir, "mailwarden.db"); probe == dir {
		if f, err := os.OpenFile(db, os.O_RDWR, 0); err == nil {
			f.Close()
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s is not writable: %v — %s", db, unwrapPath(err), dataDirHint(dir))
		}
	}
	return nil
}

// dataDirHint is what to do about a data_dir serve cannot write.
func dataDirHint(dir string) string {
	return fmt.Sprintf("make it writable by the user the server runs as (mkdir -p %s && chown -R USER: %s), or set data_dir to another directory", dir, dir)
}

// checkWritableFile says why a file could not be opened for appending.
func checkWritableFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return checkDataDirFile(path)
	}
	if err != nil {
		return fmt.Errorf("cannot append to %s: %v", path, unwrapPath(err))
	}
	return f.Close()
}

// checkDataDirFile says whether path could be created.
func checkDataDirFile(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".mailwarden-check-*")
	if err != nil {
		return fmt.Errorf("cannot create %s: %v", path, unwrapPath(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// heldByServer is the set of servicePort keys the server running on
// dataDir listens on (none when no server runs there).
func heldByServer(dataDir string) map[string]bool {
	held := map[string]bool{}
	if _, ok, _ := daemon.Running(dataDir); !ok {
		return held
	}
	st, err := daemon.Query(dataDir)
	if err != nil {
		return held
	}
	for _, l := range st.Listeners {
		held[servicePort(l.Service, l.Addr)] = true
	}
	return held
}

// servicePort is "smtp/25" for addr "0.0.0.0:25" of service smtp.
func servicePort(service, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return service + "/" + port
}
