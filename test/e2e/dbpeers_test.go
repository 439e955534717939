package e2e

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Private database servers for tests: each test gets its own PostgreSQL
// or MariaDB instance in a temp dir on a loopback port, run as the
// package's system user; the system's own clusters are never touched.

// serviceUser returns the uid and gid of a system user (postgres, mysql).
func serviceUser(t testing.TB, name string) (uint32, uint32) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uint32(uid), uint32(gid)
}

// ownedTempDir makes a temp dir owned by uid/gid, removed at the end.
func ownedTempDir(t testing.TB, prefix string, uid, gid uint32) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runAs runs a command as uid/gid and fails the test on error.
func runAs(t testing.TB, uid, gid uint32, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// startDaemon starts a long-running server as uid/gid and stops it (with
// stop, then SIGKILL) when the test ends.
func startDaemon(t testing.TB, uid, gid uint32, stop syscall.Signal, logPath, name string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}, Setpgid: true}
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, "/"
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(stop)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

// waitPort waits until something accepts on 127.0.0.1:port.
func waitPort(t testing.TB, port int, what, logPath string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("%s did not listen on port %d within 60s:\n%s", what, port, log)
}

// pgBin finds a PostgreSQL server program (Debian keeps them out of PATH).
func pgBin(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	requireTool(t, name) // skips, or fails under CI
	return name
}

// privatePostgres starts a PostgreSQL server of its own on a loopback
// port (trust authentication for the superuser postgres) and returns
// the port and a function running SQL as postgres.
func privatePostgres(t testing.TB) (port int, psql func(sql string)) {
	t.Helper()
	initdb, postgres, psqlBin := pgBin(t, "initdb"), pgBin(t, "postgres"), pgBin(t, "psql")
	uid, gid := serviceUser(t, "postgres")
	dir := ownedTempDir(t, "mw-pg-", uid, gid)
	data := filepath.Join(dir, "data")
	runAs(t, uid, gid, initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	port = freePort(t)
	logPath := filepath.Join(dir, "postgres.log")
	startDaemon(t, uid, gid, syscall.SIGINT, logPath, postgres, "-D", data, "-k", dir, "-h", "127.0.0.1",
		"-p", strconv.Itoa(port), "-c", "fsync=off")
	waitPort(t, port, "postgres", logPath)
	psql = func(sql string) {
		t.Helper()
		for i := 0; ; i++ { // the port opens a moment before logins work
			cmd := exec.Command(psqlBin, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql)
			out, err := cmd.CombinedOutput()
			if err == nil {
				return
			}
			if i > 50 {
				t.Fatalf("psql %q: %v\n%s", sql, err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return port, psql
}

// privateMariaDB starts a MariaDB server of its own with a socket in a
// temp dir and a loopback port, and returns both and a function running
// SQL as root (over the socket).
func privateMariaDB(t testing.TB) (sock string, port int, mysql func(sql string)) {
	t.Helper()
	for _, tool := range []string{"mariadb-install-db", "mariadbd", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				requireTool(t, tool)
			}
		}
	}
	daemon := "mariadbd"
	if _, err := exec.LookPath(daemon); err != nil {
		daemon = "/usr/sbin/mariadbd"
	}
	uid, gid := serviceUser(t, "mysql")
	dir := ownedTempDir(t, "mw-my-", uid, gid)
	data := filepath.Join(dir, "data")
	runAs(t, uid, gid, "mariadb-install-db", "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	sock = filepath.Join(dir, "mysqld.sock")
	port = freePort(t)
	logPath := filepath.Join(dir, "mariadb.log")
	startDaemon(t, uid, gid, syscall.SIGTERM, logPath, daemon, "--no-defaults", "--datadir="+data, "--socket="+sock,
		"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin", "--log-error="+logPath)
	waitPort(t, port, "mariadbd", logPath)
	mysql = func(sql string) {
		t.Helper()
		out, err := exec.Command("mariadb", "--no-defaults", "-S", sock, "-u", "root", "-e", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("mariadb %q: %v\n%s", sql, err, out)
		}
	}
	return sock, port, mysql
}
