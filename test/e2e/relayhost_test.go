package e2e

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

// postfixBin finds the postfix command: /usr/sbin is not on every PATH.
func postfixBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("postfix"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/postfix"); err == nil {
		return "/usr/sbin/postfix"
	}
	requireTool(t, "postfix") // skips, or fails under CI=true
	return ""
}

// privatePostfix is a throw-away Postfix instance (the way bench/postfix.sh
// runs one): its own config and queue directories, no chroot, smtpd on
// 127.0.0.1:Port only, virtual mailboxes for relay.test in Maildirs under
// MailDir.
type privatePostfix struct {
	Bin     string
	Dir     string
	EtcDir  string
	Queue   string
	MailDir string // virtual_mailbox_base
	Log     string // maillog_file
	Port    int
	// ResolvConf, when set, is bind-mounted over /etc/resolv.conf in a
	// private mount namespace of the master and its children (see
	// startPostfixWithDNS).
	ResolvConf string
}

// startPostfix starts a private Postfix that accepts mail for the given
// relay.test mailboxes (local parts) and stops it when the test ends.
func startPostfix(t *testing.T, locals ...string) *privatePostfix {
	t.Helper()
	return startPostfixWith(t, "", locals...)
}

// startPostfixWith is startPostfix with more main.cf lines (later lines
// override earlier ones).
func startPostfixWith(t *testing.T, mainCf string, locals ...string) *privatePostfix {
	t.Helper()
	return startPostfixResolv(t, mainCf, "", locals...)
}

func startPostfixResolv(t *testing.T, mainCf, resolvConf string, locals ...string) *privatePostfix {
	t.Helper()
	bin := postfixBin(t)
	if os.Geteuid() != 0 {
		t.Skip("a private Postfix instance needs root (its daemons switch to the postfix and nobody users)")
	}
	for _, name := range []string{"postfix", "nobody"} {
		if _, err := user.Lookup(name); err != nil {
			t.Fatalf("user %s: %v (is Postfix installed properly?)", name, err)
		}
	}
	dir := t.TempDir()
	// virtual(8) runs as nobody and must reach the Maildir: open the temp
	// dir and its parent (both 0700 from t.TempDir) for traversal.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &privatePostfix{Bin: bin, Dir: dir, EtcDir: filepath.Join(dir, "etc"), Queue: filepath.Join(dir, "queue"),
		MailDir: filepath.Join(dir, "mail"), Log: filepath.Join(dir, "maillog"), ResolvConf: resolvConf}
	data := filepath.Join(dir, "data")
	for _, d := range []string{p.EtcDir, p.Queue, p.MailDir, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chown(t, data, "postfix")     // data_directory belongs to mail_owner
	chown(t, p.MailDir, "nobody") // virtual_mailbox_base, written as nobody
	var vmap strings.Builder
	for _, l := range locals {
		fmt.Fprintf(&vmap, "%s@relay.test relay.test/%s/\n", l, l) // trailing slash: Maildir
	}
	writeFile(t, filepath.Join(p.EtcDir, "vmailbox"), vmap.String())
	p.Port = freePort(t)
	writeFile(t, filepath.Join(p.EtcDir, "main.cf"), fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
myhostname = pf.relay.local
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
virtual_mailbox_domains = relay.test
virtual_mailbox_maps = texthash:%[3]s/vmailbox
virtual_mailbox_base = %[4]s
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file = %[5]s
maillog_file_prefixes = %[6]s
%[7]s
`, p.Queue, data, p.EtcDir, p.MailDir, p.Log, dir, mainCf))
	// No chroot anywhere (5th column "n"); smtpd on our own port only.
	writeFile(t, filepath.Join(p.EtcDir, "master.cf"), fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
smtp      unix - - n - - smtp
virtual   unix - n n - - virtual
`, p.Port))
	if out, err := p.run("check"); err != nil { // creates the queue subdirs
		t.Fatalf("postfix check: %v\n%s", err, out)
	}
	t.Cleanup(func() { p.stop(t) })
	if out, err := p.run("start"); err != nil {
		t.Fatalf("postfix start: %v\n%s\nmaillog:\n%s", err, out, p.maillog())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := smtpDial(fmt.Sprintf("127.0.0.1:%d", p.Port), "")
		if err == nil {
			c.Quit()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix smtpd on port %d not answering: %v\nmaillog:\n%s", p.Port, err, p.maillog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

func (p *privatePostfix) run(args ...string) ([]byte, error) {
	argv := append([]string{p.Bin, "-c", p.EtcDir}, args...)
	if p.ResolvConf != "" && len(args) > 0 && args[0] == "start" {
		// A private mount namespace: the master and every daemon it
		// starts see our resolv.conf; the real file is never touched.
		argv = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$0" /etc/resolv.conf && exec "$@"`, p.ResolvConf}, argv...)
	}
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}

func (p *privatePostfix) maillog() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// stop runs "postfix stop" and waits for the master and its children to
// exit; whatever is left after 10s is killed.
func (p *privatePostfix) stop(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(p.Queue, "pid", "master.pid"))
	if err != nil {
		return // never started
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || master <= 1 {
		t.Errorf("master.pid holds %q", b)
		return
	}
	pids := append([]int{master}, childrenOf(master)...)
	if out, err := p.run("stop"); err != nil {
		t.Errorf("postfix stop: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && anyAlive(pids) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("postfix process %d still running 10s after postfix stop; killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("postfix maillog:\n%s", p.maillog())
	}
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

func anyAlive(pids []int) bool {
	for _, p := range pids {
		if alive(p) {
			return true
		}
	}
	return false
}

func chown(t *testing.T, path, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRelayhostPostfix: with relayhost = "[127.0.0.1]:PORT", mail relayed
// through Mailwarden for a remote domain goes to a real Postfix on that
// port (no MX lookup; the resolver is a dead port) and lands in Postfix's
// virtual Maildir with Mailwarden's Received header; Mailwarden logs
// relay=127.0.0.1[127.0.0.1]:PORT and status=sent like Postfix's smtp(8).
func TestRelayhostPostfix(t *testing.T) {
	requireTool(t, "swaks")
	pf := startPostfix(t, "user")
	s := startServer(t, options{Extra: []string{"", "[outbound]",
		fmt.Sprintf("relayhost = \"[127.0.0.1]:%d\"", pf.Port), `tls = "may"`}}, nil)

	id := newMessageID("relayhost")
	const from, to = "sender@origin.example", "user@relay.test"
	qid := s.send(from, to, message(from, to, "via relayhost", id, "relayed through Postfix"),
		"--local-interface", "127.0.0.1") // in mynetworks: relaying allowed

	inbox := filepath.Join(pf.MailDir, "relay.test", "user")
	var got []mailFile
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got = nil
		for _, f := range folderFiles(t, inbox) {
			if f.Headers.Get("Message-Id") == id {
				got = append(got, f)
			}
		}
		if len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("Postfix's Maildir %s holds %d copies of %s, want 1\nmailwarden log:\n%s\npostfix maillog:\n%s",
			inbox, len(got), id, s.Log(), pf.maillog())
	}
	hdr := strings.Join(headerLines(got[0].Data), "\n")
	mwReceived := false
	for _, r := range got[0].Headers["Received"] {
		if strings.Contains(r, "by mx.test.example (Mailwarden)") && strings.Contains(r, "id "+qid) && strings.Contains(r, "[127.0.0.1]") {
			mwReceived = true
		}
	}
	if !mwReceived {
		t.Errorf("no Received header of Mailwarden (by mx.test.example, id %s) in the delivered message:\n%s", qid, hdr)
	}
	if !strings.Contains(hdr, "by pf.relay.local (Postfix)") {
		t.Errorf("no Received header of Postfix in the delivered message:\n%s", hdr)
	}
	if !strings.Contains(string(got[0].Data), "relayed through Postfix") {
		t.Errorf("the body did not arrive:\n%s", got[0].Data)
	}
	relay := fmt.Sprintf("relay=127.0.0.1[127.0.0.1]:%d,", pf.Port)
	s.waitLog(func(l string) bool {
		for _, line := range strings.Split(l, "\n") {
			if strings.Contains(line, qid+": to=<"+to+">") && strings.Contains(line, relay) && strings.Contains(line, "status=sent") {
				return true
			}
		}
		return false
	}, fmt.Sprintf("%s: to=<%s>, %s ... status=sent", qid, to, relay))
	if out := s.admin("queue", "list"); !strings.Contains(out, "Mail queue is empty") {
		t.Errorf("Mailwarden's queue after delivery:\n%s", out)
	}
}
