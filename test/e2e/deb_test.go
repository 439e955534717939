package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailwarden/internal/testutil"
)

// TestDebPackage builds the .deb with scripts/build-deb.sh, checks its
// control data, conffiles and contents, installs it on this machine with
// dpkg -i (its postinst creates the mailwarden system user with adduser
// and the directories) — inside an overlay of the root file system in a
// private mount namespace, so that the install is real but leaves no
// trace — runs the unit's own command lines as that user with only
// CAP_NET_BIND_SERVICE, as systemd would, serving port 25 in a network
// namespace, stops it, and purges the package.
func TestDebPackage(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for _, tool := range []string{"dpkg-deb", "dpkg", "useradd", "setpriv", "unshare"} {
		requireTool(t, tool)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "mw-deb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	os.Chmod(tmp, 0o755) // the mailwarden user reaches the installed tree
	out, err := exec.Command("bash", filepath.Join(root, "scripts", "build-deb.sh"), "-o", filepath.Join(tmp, "dist"), "-v", "1.2.3").CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out))
	if !strings.HasSuffix(deb, "mailwarden_1.2.3_"+dpkgArch(t)+".deb") {
		t.Fatalf("build-deb.sh printed %q", deb)
	}

	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: mailwarden", "Version: 1.2.3", "Depends: adduser", "postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	ctrl := filepath.Join(tmp, "control")
	run(t, "dpkg-deb", "-e", deb, ctrl)
	if cf := readFileOr(t, filepath.Join(ctrl, "conffiles")); !strings.Contains(cf, "/etc/mailwarden/mailwarden.toml\n") ||
		!strings.Contains(cf, "/etc/logrotate.d/mailwarden\n") || !strings.Contains(cf, "/etc/fail2ban/jail.d/mailwarden.conf\n") {
		t.Errorf("conffiles:\n%s", cf)
	}
	list := run(t, "dpkg-deb", "-c", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/sbin/mailwarden$",
		"root/root .* ./lib/systemd/system/mailwarden.service$",
		"-rw-r----- root/root .* ./etc/mailwarden/mailwarden.toml$",
		"./etc/logrotate.d/mailwarden$", "./etc/fail2ban/jail.d/mailwarden.conf$", "./usr/share/doc/mailwarden/operations.md$",
		"./usr/share/man/man8/mailwarden.8.gz$", "./usr/share/lintian/overrides/mailwarden$",
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(list) {
			t.Errorf("dpkg-deb -c has no line matching %s:\n%s", want, list)
		}
	}

	if cl := run(t, "sh", "-c", "dpkg-deb --fsys-tarfile \"$0\" | tar -xOf - ./usr/share/doc/mailwarden/changelog.gz | gzip -dc", deb); !regexp.MustCompile(`^mailwarden \(1\.2\.3\) unstable; urgency=medium\n\n  \* Built from commit [0-9a-f]{40}\.\n\n -- .+ <.+@.+>  \w{3}, \d\d? \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n$`).MatchString(cl) {
		t.Errorf("changelog.gz:\n%s", cl)
	}
	if man := run(t, "sh", "-c", "dpkg-deb --fsys-tarfile \"$0\" | tar -xOf - ./usr/share/man/man8/mailwarden.8.gz | gzip -dc", deb); !strings.HasPrefix(man, `.TH MAILWARDEN 8 `) ||
		!regexp.MustCompile(`(?m)^  kick USER\|ADDRESS\|NETWORK +end those`).MatchString(man) {
		t.Errorf("the manual page:\n%s", man)
	}
	// Debian's package checker: no errors, and no warnings beyond the one
	// the package knows of (the repository states no license yet, so the
	// copyright file names none). Deliberate departures are overridden in
	// the package, with the reason.
	t.Run("lintian", func(t *testing.T) {
		requireTool(t, "lintian")
		out, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
		known := map[string]bool{"W: mailwarden: copyright-without-copyright-notice": true}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if (strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ")) && !known[l] {
				t.Errorf("lintian: %s", l)
			}
		}
		if t.Failed() {
			t.Logf("lintian %s:\n%s", deb, out)
		}
	})

	// Install it on this machine, for real: dpkg -i with the machine's
	// own dpkg database, adduser and /etc/passwd, its postinst as root —
	// in a mount namespace where the whole root file system is an overlay
	// whose writes go to a tmpfs, so nothing of it outlives the test.
	host := machineOverlay(t)
	passwdBefore := readFileOr(t, "/etc/passwd")
	if out, err := host.command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
	if st := host.output(t, "dpkg-query", "-W", "-f", "${Status} ${Version}", "mailwarden"); st != "install ok installed 1.2.3" {
		t.Errorf("dpkg-query: %q", st)
	}
	m := regexp.MustCompile(`^mailwarden:x:(\d+):(\d+):Mailwarden mail server[^:]*:/var/lib/mailwarden:/usr/sbin/nologin$`).FindStringSubmatch(
		strings.TrimSpace(host.output(t, "getent", "passwd", "mailwarden")))
	if m == nil {
		t.Fatalf("postinst made no mailwarden system user: %q", host.output(t, "getent", "passwd", "mailwarden"))
	}
	uid, gid := m[1], m[2]
	for _, d := range []string{"/var/lib/mailwarden", "/var/log/mailwarden"} {
		st, err := os.Stat(host.path(d))
		if err != nil || strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)) != uid || st.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v, want a 0750 directory of uid %s", d, err, uid)
		}
	}
	if st, err := os.Stat(host.path("/etc/mailwarden/mailwarden.toml")); err != nil || strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Gid)) != gid || st.Mode().Perm() != 0o640 {
		t.Errorf("the config: %v, want 0640 root:mailwarden", err)
	}

	unit := readFileOr(t, host.path("/lib/systemd/system/mailwarden.service"))
	for _, want := range []string{"User=mailwarden", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID",
		"ProtectSystem=strict", "ReadWritePaths=/var/lib/mailwarden /var/log/mailwarden", "NoNewPrivileges=yes", "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("the unit lacks %s:\n%s", want, unit)
		}
	}
	// The admin's one edit: this machine has no syslog daemon, so the mail
	// log goes to the file logrotate's snippet names.
	cfgPath := host.path("/etc/mailwarden/mailwarden.toml")
	cfg := readFileOr(t, cfgPath)
	if !strings.Contains(cfg, `syslog = true`) || !strings.Contains(cfg, `user = "mailwarden"`) {
		t.Fatalf("the installed config:\n%s", cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(cfg, `syslog = true`, `file = "/var/log/mailwarden/mail.log"`, 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	var cmdline []string
	for _, key := range []string{"ExecStartPre", "ExecStart"} {
		m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindStringSubmatch(unit)
		if m == nil {
			t.Fatalf("the unit has no %s=", key)
		}
		cmdline = append(cmdline, m[1])
	}
	// The unit's command lines as they are, as systemd's User=, Group=
	// and AmbientCapabilities= would run them, in a network namespace
	// (port 25 is this machine's otherwise).
	log := &testutil.Buffer{}
	logFile := host.path("/var/log/mailwarden/mail.log")
	cmd := host.command("unshare", "-n", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		"setpriv", "--reuid=mailwarden", "--regid=mailwarden", "--init-groups",
		"--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "--bounding-set=-all,+net_bind_service",
		"sh", "-c", cmdline[0]+" && exec "+cmdline[1])
	done := startUntil(t, cmd, log, func() bool { return strings.Contains(readFileOr2(logFile), "daemon started") })
	pid := cmd.Process.Pid
	for _, ids := range procIDs(t, pid, "Uid") {
		if ids != strings.Repeat(uid+" ", 3)+uid {
			t.Errorf("a thread runs with Uid: %s, want the mailwarden user %s", ids, uid)
		}
	}
	if g := greetingIn(t, pid, "127.0.0.1", 25); !strings.HasPrefix(g, "220 mail.example.com") {
		t.Errorf("greeting on port 25: %q", g)
	}
	if !strings.Contains(log.String(), ": ok") {
		t.Errorf("ExecStartPre's check-config did not pass:\n%s", log.String())
	}
	if l := readFileOr(t, logFile); !strings.Contains(l, "daemon started -- version 1.2.3 (commit ") {
		t.Errorf("the log does not show the package's version:\n%s", l)
	}
	if out, err := host.command("mailwarden", "status").CombinedOutput(); err != nil || !strings.Contains(string(out), "running") {
		t.Errorf("mailwarden status: %v\n%s", err, out)
	}
	if out, err := host.command("mailwarden", "stop").CombinedOutput(); err != nil || !strings.Contains(string(out), "mailwarden stopped") {
		t.Errorf("mailwarden stop: %v\n%s", err, out)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Error("serve still running 30s after mailwarden stop")
	}

	out2, err := host.command("dpkg", "--purge", "mailwarden").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg --purge: %v\n%s", err, out2)
	}
	for _, gone := range []string{"/usr/sbin/mailwarden", "/etc/mailwarden", "/lib/systemd/system/mailwarden.service", "/var/log/mailwarden"} {
		if _, err := os.Stat(host.path(gone)); err == nil {
			t.Errorf("%s is still there after dpkg --purge", gone)
		}
	}
	if _, err := os.Stat(host.path("/var/lib/mailwarden/mailwarden.db")); err != nil || !strings.Contains(string(out2), "kept /var/lib/mailwarden") {
		t.Errorf("purge must keep the mail and say so: %v\n%s", err, out2)
	}
	if st := host.output(t, "sh", "-c", "dpkg-query -W -f '${Status}' mailwarden 2>/dev/null || true"); strings.Contains(st, "installed") {
		t.Errorf("after purge dpkg-query says %q", st)
	}
	host.close()
	if readFileOr(t, "/etc/passwd") != passwdBefore {
		t.Error("the test changed this machine's /etc/passwd")
	}
	if _, err := os.Stat("/lib/systemd/system/mailwarden.service"); err == nil && !strings.Contains(passwdBefore, "\nmailwarden:") {
		t.Error("the test left the unit on this machine")
	}
}

// readFileOr2 is the file's content, "" when it cannot be read.
func readFileOr2(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// overlayHost is this machine's root file system seen through an
// overlay in a private mount namespace: programs run in it (chrooted)
// read everything as it is and write into a tmpfs that goes away with
// the namespace.
type overlayHost struct {
	holder *exec.Cmd
	dir    string // the overlay's mount point, in the namespace
	done   chan struct{}
}

// machineOverlay starts the namespace: a process holds it (sleeping)
// until close or the end of the test.
func machineOverlay(t *testing.T) *overlayHost {
	t.Helper()
	for _, tool := range []string{"unshare", "nsenter", "chroot"} {
		requireTool(t, tool)
	}
	dir, err := os.MkdirTemp("", "mw-overlay-")
	if err != nil {
		t.Fatal(err)
	}
	script := `set -e
mount -t tmpfs -o size=1g tmpfs "$0/rw"
mkdir "$0/rw/upper" "$0/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$0/rw/upper,workdir=$0/rw/work" "$0/root"
for d in proc sys dev; do mount --rbind "/$d" "$0/root/$d"; done
mount -t tmpfs tmpfs "$0/root/run"
mkdir -p "$0/root/run/lock"
echo ready
exec sleep 3600`
	for _, d := range []string{"rw", "root"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	h := &overlayHost{dir: filepath.Join(dir, "root"), done: make(chan struct{})}
	h.holder = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, dir)
	out, err := h.holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	h.holder.Stderr = &stderr
	if err := h.holder.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.holder.Wait(); close(h.done) }()
	line := make([]byte, 6)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "ready\n" {
		t.Fatalf("the overlay namespace: %v %q\n%s", err, line, stderr.String())
	}
	t.Cleanup(func() {
		h.close()
		os.RemoveAll(dir)
	})
	return h
}

// command runs name chrooted into the overlay.
func (h *overlayHost) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(h.holder.Process.Pid), "-m", "--", "chroot", h.dir, name}, args...)...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=", "DEBIAN_FRONTEND=noninteractive")
	return cmd
}

// output runs a command in the overlay that must succeed.
func (h *overlayHost) output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := h.command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in the overlay: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// path is where a file of the overlay can be read from outside it.
func (h *overlayHost) path(p string) string {
	return "/proc/" + strconv.Itoa(h.holder.Process.Pid) + "/root" + h.dir + p
}

// close ends the namespace, and with it everything written in it.
func (h *overlayHost) close() {
	h.holder.Process.Kill()
	<-h.done
}

func dpkgArch(t testing.TB) string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// run runs a command that must succeed and returns its combined output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
