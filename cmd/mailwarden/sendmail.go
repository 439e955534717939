package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/pickup"
	"mailwarden/internal/queue"
)

// Exit codes of sendmail (sysexits.h).
const (
	exOK          = 0
	exUsage       = 64 // EX_USAGE: bad command line or address
	exDataErr     = 65 // EX_DATAERR: bad message (too large, unreadable)
	exNoUser      = 67 // EX_NOUSER: unknown local recipient
	exUnavailable = 69 // EX_UNAVAILABLE: refused for another reason
	exTempFail    = 75 // EX_TEMPFAIL: try again later
	exNoPerm      = 77 // EX_NOPERM: refused by policy
)

const sendmailUsage = "usage: mailwarden sendmail [-t] [-i] [-f sender] [-F fullname] [-N dsn] [-R ret] [-V envid] [rcpt ...]"

// smError is a sendmail failure with its exit code.
type smError struct {
	code int
	msg  string
}

func (e *smError) Error() string { return e.msg }

func smFail(code int, format string, a ...any) *smError {
	return &smError{code, fmt.Sprintf(format, a...)}
}

// sendmailOpts is the parsed command line.
type sendmailOpts struct {
	headers  bool   // -t
	dotOK    bool   // -i, -oi: a lone "." does not end the message
	sender   string // -f, -r
	hasFrom  bool
	fullName string // -F
	mode     byte   // -b: 'm' deliver (default), 'p' list queue, 'i' newaliases
	notify   []string
	ret      string
	envID    string
	rcpts    []string
}

// sendmail is `mailwarden sendmail`: the Postfix sendmail(1) interface for
// scripts and cron. It reads a message from stdin and hands it to the
// running server over its local socket, which checks and delivers it as
// it does mail from an SMTP client (a refusal comes back at once); when
// the server is not running the message waits in the maildrop until it
// starts (package pickup). It returns a sendmail exit status.
func (c *cli) sendmail(args []string) int {
	o, cfgPath, err := parseSendmail(args)
	if err == nil {
		if cfgPath == "" {
			cfgPath = c.cfgPath
		}
		err = c.sendmailRun(o, cfgPath)
	}
	if err == nil {
		return exOK
	}
	code := exTempFail
	var se *smError
	if errors.As(err, &se) {
		code = se.code
	}
	fmt.Fprintf(c.stderr, "mailwarden sendmail: %v\n", err)
	if code == exUsage {
		fmt.Fprintln(c.stderr, sendmailUsage)
	}
	return code
}

// Options with an argument, as in Postfix's sendmail; -o is handled alone.
const smArgOpts = "ABCFLNORVXbefhpr"

// parseSendmail parses the command line getopt style: clustered flags
// (-ti), attached or separate arguments (-fme@x, -f me@x), options up to
// the first recipient or "--".
func parseSendmail(args []string) (*sendmailOpts, string, error) {
	o := &sendmailOpts{mode: 'm'}
	var cfgPath string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		if name, val, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "config" {
			if !ok {
				if i+1 >= len(args) {
					return nil, "", smFail(exUsage, "-config needs a path")
				}
				i++
				val = args[i]
			}
			cfgPath = val
			continue
		}
		for j := 1; j < len(a); j++ {
			opt := a[j]
			if opt == 'o' || strings.IndexByte(smArgOpts, opt) >= 0 {
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, "", smFail(exUsage, "option -%c needs an argument", opt)
					}
					i++
					val = args[i]
				}
				if err := o.setArg(opt, val, &cfgPath); err != nil {
					return nil, "", err
				}
				break
			}
			switch opt {
			case 't':
				o.headers = true
			case 'i':
				o.dotOK = true
			case 'I':
				o.mode = 'i'
			case 'G', 'U', 'c', 'm', 'n', 'v', 'x':
				// Sendmail flags without meaning here (Postfix ignores them too).
			case 'q':
				return nil, "", smFail(exUsage, "-q is not supported; use `mailwarden queue flush`")
			default:
				return nil, "", smFail(exUsage, "unknown option -%c", opt)
			}
		}
	}
	o.rcpts = args[i:]
	return o, cfgPath, nil
}

func (o *sendmailOpts) setArg(opt byte, val string, cfgPath *string) error {
	switch opt {
	case 'C':
		*cfgPath = val
	case 'F':
		o.fullName = val
	case 'f', 'r':
		o.sender, o.hasFrom = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(val), "<"), ">"), true
	case 'b':
		switch val {
		case "m":
			o.mode = 'm'
		case "p":
			o.mode = 'p'
		case "i", "I":
			o.mode = 'i'
		default:
			return smFail(exUsage, "-b%s is not supported (only -bm, -bp and -bi)", val)
		}
	case 'o':
		switch {
		case val == "i":
			o.dotOK = true
		case val != "" && strings.IndexByte("edQAm78LTXbh", val[0]) >= 0:
			// Error mode, delivery mode, queue dir, alias file and the
			// like: meaningless here, ignored as Postfix does.
		default:
			return smFail(exUsage, "unknown option -o%s", val)
		}
	case 'N':
		for _, n := range strings.Split(strings.ToUpper(val), ",") {
			switch n = strings.TrimSpace(n); n {
			case "NEVER", "SUCCESS", "DELAY", "FAILURE":
				o.notify = append(o.notify, n)
			default:
				return smFail(exUsage, "-N %s: want never or a list of success,delay,failure", val)
			}
		}
	case 'R':
		switch o.ret = strings.ToUpper(val); o.ret {
		case "FULL", "HDRS":
		default:
			return smFail(exUsage, "-R %s: want full or hdrs", val)
		}
	case 'V':
		o.envID = val
	default: // -A -B -L -O -X -e -h -p: ignored
	}
	return nil
}

// smRcpt is a recipient and where it came from.
type smRcpt struct {
	addr   string
	header bool // from a header (-t)
}

func (c *cli) sendmailRun(o *sendmailOpts, cfgPath string) error {
	cfg, err := config.Load(config.PathFrom(cfgPath))
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	switch o.mode {
	case 'i':
		return nil // aliases live in the database: nothing to rebuild
	case 'p':
		return c.sendmailMailq(cfg)
	}
	if !o.headers && len(o.rcpts) == 0 {
		return smFail(exUsage, "no recipients: give them on the command line or use -t")
	}

	login, gecos := invoker()
	sender := login + "@" + cfg.Hostname
	if o.hasFrom {
		sender = o.sender
		if sender != "" && !strings.Contains(sender, "@") {
			sender += "@" + cfg.Hostname
		}
		if sender != "" {
			if _, _, err := directory.Split(sender); err != nil {
				return smFail(exUsage, "-f: %v", err)
			}
		}
	}
	var rcpts []smRcpt
	for _, a := range o.rcpts {
		for _, r := range addrList(a) {
			rcpts = append(rcpts, smRcpt{qualify(r, cfg.Hostname), false})
		}
	}

	// The message is read whole first: its size and 8-bit data go into
	// MAIL, and the maildrop needs it when the server is not running.
	sp := envelope.NewSpool(os.TempDir(), 256<<10, int64(cfg.SMTP.MessageSizeLimit))
	defer sp.Close()
	h, err := readMessage(c.stdin, sp, o.dotOK)
	switch {
	case errors.Is(err, envelope.ErrTooLarge):
		return smFail(exDataErr, "message exceeds smtp.message_size_limit (%d bytes)", cfg.SMTP.MessageSizeLimit)
	case err != nil:
		return smFail(exTempFail, "reading the message: %v", err)
	}
	if o.headers {
		hdr := h.rcpts
		if len(h.resent) > 0 { // a resent message goes to the Resent- recipients
			hdr = h.resent
		}
		for _, r := range hdr {
			rcpts = append(rcpts, smRcpt{qualify(r, cfg.Hostname), true})
		}
		if len(rcpts) == 0 {
			return smFail(exUsage, "no recipient addresses found in the message header")
		}
	}

	env := &pickup.Envelope{From: sender, Ret: o.ret, EnvID: o.envID, Body8: h.eightBit, SMTPUTF8: !isASCII(sender)}
	seen := map[string]bool{}
	var from []bool // per envelope recipient: it came from the header
	for _, r := range rcpts {
		if seen[strings.ToLower(r.addr)] {
			continue
		}
		seen[strings.ToLower(r.addr)] = true
		if strings.ContainsAny(r.addr, "\x00\r\n<> ") {
			if r.header {
				return smFail(exDataErr, "recipient in the message header: bad address %q", r.addr)
			}
			return smFail(exUsage, "recipient: bad address %q", r.addr)
		}
		env.Rcpts = append(env.Rcpts, pickup.Rcpt{Addr: r.addr, Notify: o.notify})
		env.SMTPUTF8 = env.SMTPUTF8 || !isASCII(r.addr)
		from = append(from, r.header)
	}

	// The From field a message lacks (Postfix's cleanup adds it from the
	// sender and the full name); Date and Message-ID come from the server.
	var head []byte
	if !h.from {
		name := o.fullName
		if name == "" {
			name = os.Getenv("NAME")
		}
		if name == "" {
			name = gecos
		}
		addr := sender
		if addr == "" {
			addr = login + "@" + cfg.Hostname
		}
		head = []byte("From: " + (&mail.Address{Name: name, Address: addr}).String() + "\r\n")
	}
	posted, err := pickup.Post(cfg.DataDir, "localhost", env, smMessage{head, sp})
	if err != nil {
		return postError(err, from, c.stderr)
	}
	if posted.Outcome == nil {
		return nil // in the maildrop: the server takes it when it starts
	}
	return postError(nil, from, c.stderr, posted.Outcome.Rcpts...)
}

// smMessage is the message with the fields sendmail adds in front.
type smMessage struct {
	head []byte
	sp   *envelope.Spool
}

func (m smMessage) Reader() io.Reader {
	return io.MultiReader(bytes.NewReader(m.head), m.sp.Reader())
}

func (m smMessage) Size() int64 { return int64(len(m.head)) + m.sp.Size() }

// postError turns the server's refusal into sendmail's report: every
// refused recipient on stderr, and the exit status of the last (as
// sendmail(1) and Postfix's sendmail report, sysexits.h).
func postError(err error, fromHeader []bool, stderr io.Writer, rcpts ...pickup.Reply) error {
	if err != nil {
		var re *pickup.ReplyError
		if errors.As(err, &re) {
			return smFail(exitFor(re.Reply, false), "%s; nothing delivered", re.Reply)
		}
		return smFail(exTempFail, "%v; nothing delivered", err)
	}
	var last *smError
	for i, r := range rcpts {
		if r.Code < 400 {
			continue
		}
		if last != nil {
			fmt.Fprintf(stderr, "mailwarden sendmail: %s\n", last.msg)
		}
		last = smFail(exitFor(r, fromHeader[i]), "%s", r)
	}
	if last != nil {
		last.msg += "; nothing delivered"
		return last
	}
	return nil
}

// exitFor maps a refusal to a sysexits.h status: unknown users
// EX_NOUSER, bad addresses EX_USAGE (EX_DATAERR for one from the
// header), a message too large EX_DATAERR, policy EX_NOPERM, anything
// temporary EX_TEMPFAIL, the rest EX_UNAVAILABLE.
func exitFor(r pickup.Reply, fromHeader bool) int {
	switch {
	case r.Temporary():
		return exTempFail
	case r.Enhanced == "5.1.3" || r.Code == 501:
		if fromHeader {
			return exDataErr
		}
		return exUsage
	case strings.HasPrefix(r.Enhanced, "5.1."):
		return exNoUser
	case r.Enhanced == "5.3.4" || r.Enhanced == "5.6.0":
		return exDataErr
	case strings.HasPrefix(r.Enhanced, "5.7."):
		return exNoPerm
	}
	return exUnavailable
}

// sendmailMailq is -bp: the queue as `mailq` shows it.
func (c *cli) sendmailMailq(cfg *config.Config) error {
	ctx := context.Background()
	e, err := openData(ctx, cfg)
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	defer e.close()
	q, err := queue.New(e.db, filepath.Join(cfg.DataDir, "queue"), cfg.Delivery.Fsync)
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	es, err := q.List(ctx)
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	return mailq(c.stdout, es)
}

// qualify turns a bare name ("root") into name@hostname, as Postfix's
// append_at_myorigin does.
func qualify(addr, hostname string) string {
	if !strings.Contains(addr, "@") {
		return addr + "@" + hostname
	}
	return addr
}

// invoker returns the login name and full name of the calling Unix user.
func invoker() (login, name string) {
	if u, err := user.Current(); err == nil {
		login, name = u.Username, u.Name
	}
	if login == "" {
		login = os.Getenv("LOGNAME")
	}
	if login == "" {
		login = os.Getenv("USER")
	}
	if login == "" {
		login = "uid" + strconv.Itoa(os.Getuid())
	}
	name, _, _ = strings.Cut(name, ",") // GECOS: full name, room, phone...
	if name == login {
		name = ""
	}
	return login, name
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
