package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dovecot is a private Dovecot instance a test runs (a real peer: the
// Debian dovecot-core package), stopped when the test ends.
type Dovecot struct {
	Base string // its directory; base_dir is Base/run, the log Base/dovecot.log
	Conf string // its dovecot.conf, for doveadm -c
	Home string // parent of the users' homes, writable by the mail user
}

// DovecotOptions shape the config. %HOME% in MailLocation, UserHome and
// Extra is replaced by Dovecot.Home, %BASE% by Dovecot.Base.
type DovecotOptions struct {
	Protocols    string // "" (doveadm only) or e.g. "lmtp"
	MailLocation string // e.g. "maildir:%HOME%/Maildir"
	UserHome     string // the static userdb's home=, e.g. "%HOME%/%d/%n"
	Extra        string // more config lines (namespaces, services)
}

// StartDovecot starts Dovecot in the foreground with a static passdb and
// userdb (any user, no password) and waits for its auth service. It fails
// the test when dovecot is missing under CI=true and skips it otherwise.
func StartDovecot(t testing.TB, o DovecotOptions) *Dovecot {
	t.Helper()
	bin, err1 := exec.LookPath("dovecot")
	_, err2 := exec.LookPath("doveadm")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dovecot/doveadm missing (install dovecot-core): %v %v", err1, err2)
		}
		t.Skip("dovecot/doveadm not installed (Debian: dovecot-core)")
	}
	// A short path: socket names must fit in sun_path.
	base, err := os.MkdirTemp("", "dvc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	d := &Dovecot{Base: base, Conf: filepath.Join(base, "dovecot.conf"), Home: filepath.Join(base, "home")}
	if err := os.MkdirAll(d.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	extra := ""
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		// Dovecot refuses to access mail as root: use nobody.
		uid, gid = 65534, 65534
		if err := os.Chown(d.Home, uid, gid); err != nil {
			t.Fatal(err)
		}
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(strconv.Itoa(gid))
		if err != nil {
			t.Fatal(err)
		}
		extra = fmt.Sprintf("default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n", u.Username, u.Username, g.Name)
	}
	expand := strings.NewReplacer("%HOME%", d.Home, "%BASE%", base).Replace
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = %[2]s
ssl = no
first_valid_uid = %[3]d
mail_location = %[4]s
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[5]d home=%[6]s allow_all_users=yes
}
%[7]s
%[8]s`, base, o.Protocols, uid, expand(o.MailLocation), gid, expand(o.UserHome), extra, expand(o.Extra))
	if err := os.WriteFile(d.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", d.Conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(base, "run", "auth-userdb")); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("dovecot did not start: %s %s", out.String(), d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

// Log returns Dovecot's log so far.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Base, "dovecot.log"))
	return string(b)
}
