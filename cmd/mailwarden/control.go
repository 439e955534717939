package main

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/daemon"
)

// exitError ends the command with its own exit status (status: 3 when
// the server is not running, as LSB init scripts' status).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// running loads the config for its data_dir and finds the server
// serving it.
func (c *cli) running(verb string, args []string) (dataDir string, pid int, ok bool, err error) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	pos, err := c.parse(fs, args)
	if err != nil {
		return "", 0, false, err
	}
	if err := need(pos, 0, verb); err != nil {
		return "", 0, false, err
	}
	cfg, err := config.Load(config.PathFrom(c.cfgPath))
	if err != nil {
		if verb == "reload" {
			return "", 0, false, fmt.Errorf("not reloading, the server keeps its running configuration: %w", err)
		}
		return "", 0, false, err
	}
	pid, ok, err = daemon.Running(cfg.DataDir)
	return cfg.DataDir, pid, ok, err
}

// status is `postfix status` with what an admin looks at next: version,
// uptime, listeners, connections, queue.
func (c *cli) status(args []string) error {
	dir, pid, ok, err := c.running("status", args)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintf(c.stdout, "mailwarden is not running (data_dir %s)\n", dir)
		return &exitError{code: 3}
	}
	fmt.Fprintf(c.stdout, "mailwarden is running (pid %d)\n", pid)
	st, err := daemon.Query(dir)
	if err != nil {
		return fmt.Errorf("the server (pid %d) does not answer on %s: %w", pid, daemon.SocketFile(dir), err)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("version", st.Version)
	row("config", st.Config)
	row("uptime", fmt.Sprintf("%s (since %s)", time.Since(st.Started).Round(time.Second), st.Started.UTC().Format(time.DateTime+" UTC")))
	var ls []string
	for _, l := range st.Listeners {
		ls = append(ls, l.Service+" "+l.Addr)
	}
	row("listening", strings.Join(ls, ", "))
	var names []string
	for n := range st.Conns {
		names = append(names, n)
	}
	sort.Strings(names)
	var cs []string
	for _, n := range names {
		cs = append(cs, fmt.Sprintf("%s %d", n, st.Conns[n]))
	}
	row("connections", strings.Join(cs, ", "))
	row("logged in", fmt.Sprintf("%d IMAP/POP3 session(s) (mailwarden who)", st.LoggedIn))
	row("queue", fmt.Sprintf("%d active, %d deferred, %d held", st.Queue.Active, st.Queue.Deferred, st.Queue.Hold))
	last := ""
	if st.LastReload != "" {
		last = " (last: " + st.LastReload + ")"
	}
	row("reloads", fmt.Sprintf("%d%s", st.Reloads, last))
	return tw.Flush()
}

// reload sends SIGHUP and waits for the server to say how it went.
func (c *cli) reloadCmd(args []string) error {
	dir, pid, ok, err := c.running("reload", args)
	if err != nil {
		return err
	}
	if !ok {
		return &exitError{code: 1, msg: "mailwarden is not running (data_dir " + dir + ")"}
	}
	before, err := daemon.Query(dir)
	if err != nil {
		return fmt.Errorf("the server (pid %d) does not answer: %w", pid, err)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		st, err := daemon.Query(dir)
		if err != nil || st.Reloads <= before.Reloads {
			continue
		}
		if strings.HasPrefix(st.LastReload, "failed") {
			return errors.New("reload " + st.LastReload)
		}
		fmt.Fprintf(c.stdout, "reloaded (pid %d): %s\n", pid, st.LastReload)
		return nil
	}
	return fmt.Errorf("sent SIGHUP to pid %d; no reload reported within 30s (see the mail log)", pid)
}

// stop sends SIGTERM and waits until the server has let go of data_dir
// (sessions drained, queue deliveries finished: up to about 30s).
func (c *cli) stop(args []string) error {
	dir, pid, ok, err := c.running("stop", args)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintf(c.stdout, "mailwarden is not running (data_dir %s)\n", dir)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if _, still, err := daemon.Running(dir); err == nil && !still {
			fmt.Fprintf(c.stdout, "mailwarden stopped (pid %d)\n", pid)
			return nil
		}
	}
	return fmt.Errorf("pid %d still holds data_dir %s 90s after SIGTERM", pid, dir)
}
