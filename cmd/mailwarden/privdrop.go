package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"mailwarden/internal/config"
)

// account is the user serve runs as.
type account struct {
	name     string
	uid, gid int
	groups   []int
}

// lookupAccount resolves config's user; nil when none is set.
func lookupAccount(cfg *config.Config) (*account, error) {
	if cfg.User == "" {
		return nil, nil
	}
	u, err := user.Lookup(cfg.User)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w — create it (adduser --system --group %s) or change user", cfg.User, err, cfg.User)
	}
	a := &account{name: u.Username}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", cfg.User, u.Uid, err)
	}
	if a.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", cfg.User, u.Gid, err)
	}
	if a.uid == 0 {
		return nil, fmt.Errorf("user %q has uid 0: give an unprivileged account", cfg.User)
	}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			a.groups = append(a.groups, n)
		}
	}
	if len(a.groups) == 0 {
		a.groups = []int{a.gid}
	}
	return a, nil
}

// dropPrivileges makes this process run as a when it runs as root: the
// supplementary groups, then the group, then the user, real, effective
// and saved alike, so nothing can take root back. Go (1.16 and later)
// applies setres[ug]id and setgroups to every thread of the process.
// Not root: it only checks that the process already runs as a.
func dropPrivileges(a *account) error {
	if a == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		if os.Geteuid() != a.uid {
			return fmt.Errorf("user = %q (uid %d), but serve runs as uid %d: start it as root (it drops to %s after binding its ports) or as %s", a.name, a.uid, os.Geteuid(), a.name, a.name)
		}
		return nil
	}
	if err := syscall.Setgroups(a.groups); err != nil {
		return fmt.Errorf("user %s: setgroups: %w", a.name, err)
	}
	if err := syscall.Setresgid(a.gid, a.gid, a.gid); err != nil {
		return fmt.Errorf("user %s: setresgid %d: %w", a.name, a.gid, err)
	}
	if err := syscall.Setresuid(a.uid, a.uid, a.uid); err != nil {
		return fmt.Errorf("user %s: setresuid %d: %w", a.name, a.uid, err)
	}
	// Root must be gone for good.
	if err := syscall.Setresuid(0, 0, 0); err == nil {
		return errors.New("privilege drop failed: could return to uid 0")
	}
	return nil
}

// chownDataDir gives a data_dir root just created (or found empty) to a,
// and refuses one that belongs to someone else: serve as a would not be
// able to write it. Only as root, before the drop.
func chownDataDir(dir string, a *account) error {
	if a == nil || os.Geteuid() != 0 {
		return nil
	}
	if err := checkOwner(dir, a); err == nil {
		return nil
	} else if entries, rerr := os.ReadDir(dir); rerr != nil || len(entries) > 0 {
		return err
	}
	if err := os.Chown(dir, a.uid, a.gid); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	return nil
}

// checkOwner says when dir (existing) does not belong to a.
func checkOwner(dir string, a *account) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || int(sys.Uid) == a.uid {
		return nil
	}
	return fmt.Errorf("data_dir %s belongs to uid %d, not to %s (uid %d), who serve runs as — chown -R %s: %s", dir, sys.Uid, a.name, a.uid, a.name, dir)
}
