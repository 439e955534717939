package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/mlog"
	"mailwarden/internal/queue"
)

// Exit codes of sendmail (sysexits.h).
const (
	exOK       = 0
	exUsage    = 64 // EX_USAGE: bad command line or address
	exDataErr  = 65 // EX_DATAERR: bad message (too large, unreadable)
	exNoUser   = 67 // EX_NOUSER: unknown local recipient
	exTempFail = 75 // EX_TEMPFAIL: try again later
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
// scripts and cron. It reads a message from stdin and hands it to the same
// router as the server: local mailboxes get it at once, other recipients go
// to the queue, where the running server's runner picks it up. It returns
// a sendmail exit status.
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
	addr      string
	qualified bool // a bare name that got @hostname
	header    bool // from a header (-t)
}

func (c *cli) sendmailRun(o *sendmailOpts, cfgPath string) error {
	cfg, err := config.Load(config.PathFrom(cfgPath))
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	ctx := context.Background()
	if o.mode == 'i' {
		return nil // aliases live in the database: nothing to rebuild
	}
	e, err := openData(ctx, cfg)
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	defer e.close()
	q, err := queue.New(e.db, filepath.Join(cfg.DataDir, "queue"), cfg.Delivery.Fsync)
	if err != nil {
		return smFail(exTempFail, "%v", err)
	}
	if o.mode == 'p' {
		es, err := q.List(ctx)
		if err != nil {
			return smFail(exTempFail, "%v", err)
		}
		return mailq(c.stdout, es)
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
			rcpts = append(rcpts, qualify(r, cfg.Hostname, false))
		}
	}

	spoolDir := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return smFail(exTempFail, "spool: %v", err)
	}
	sp := envelope.NewSpool(spoolDir, 256<<10, int64(cfg.SMTP.MessageSizeLimit))
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
			rcpts = append(rcpts, qualify(r, cfg.Hostname, true))
		}
		if len(rcpts) == 0 {
			return smFail(exUsage, "no recipient addresses found in the message header")
		}
	}

	// Resolve everything before delivering anything.
	env := &envelope.Envelope{ID: envelope.NewID(), From: sender, Received: time.Now(), Protocol: "local",
		EnvID: o.envID, Ret: o.ret, Body8: h.eightBit}
	e.dir.SetRelayDomains(cfg.IsRelayDomain)
	routed, err := resolveRcpts(ctx, e.dir, cfg, rcpts, o.notify, c.stderr)
	if err != nil {
		return err
	}
	for _, r := range routed {
		env.Recipients = append(env.Recipients, r.Rcpt)
		env.SMTPUTF8 = env.SMTPUTF8 || !isASCII(r.Rcpt.Address)
	}
	env.SMTPUTF8 = env.SMTPUTF8 || !isASCII(sender)
	env.Size = sp.Size()

	name := o.fullName
	if name == "" {
		name = os.Getenv("NAME")
	}
	if name == "" {
		name = gecos
	}
	from := sender
	if from == "" {
		from = login + "@" + cfg.Hostname
	}
	trace := localTrace(env, cfg.Hostname, h, (&mail.Address{Name: name, Address: from}).String())

	logger, closeLog := sendmailLogger(cfg)
	defer closeLog()
	mlog.Component(logger, "sendmail").Info(fmt.Sprintf("%s: uid=%d from=<%s>", env.ID, os.Getuid(), sender))
	router := &delivery.Router{Store: e.store, Queue: q, Log: mlog.Component(logger, "local")}
	msg := &delivery.Message{Env: env, Trace: trace, Body: sp, Rcpts: routed}
	err = router.Deliver(ctx, msg)
	if errors.Is(err, delivery.ErrOverQuota) {
		// Every mailbox is full: keep the message in the queue, which
		// retries local deliveries, rather than lose a cron job's report.
		qr := make([]queue.Rcpt, len(routed))
		for i, r := range routed {
			qr[i] = queue.Rcpt{Address: r.Dest.Address, Notify: strings.Join(r.Rcpt.Notify, ","), Kind: queue.KindLocal, LastError: "552 5.2.2 mailbox full"}
		}
		err = q.Enqueue(ctx, env, trace, sp, qr)
	}
	if err != nil {
		return smFail(exTempFail, "%s: not delivered: %v", env.ID, err)
	}
	return nil
}

// resolveRcpts routes every recipient through the directory. Unknown local
// recipients are all reported, then EX_NOUSER is returned.
func resolveRcpts(ctx context.Context, dir *directory.Directory, cfg *config.Config, rcpts []smRcpt, notify []string, stderr io.Writer) ([]delivery.Routed, error) {
	var routed []delivery.Routed
	seenRcpt := map[string]bool{}
	seenDest := map[string]bool{}
	var unknown []string
	for _, r := range rcpts {
		key := strings.ToLower(r.addr)
		if seenRcpt[key] {
			continue
		}
		seenRcpt[key] = true
		res, err := dir.Resolve(ctx, r.addr, cfg.RecipientDelimiter)
		switch {
		case errors.Is(err, directory.ErrUnknownUser):
			unknown = append(unknown, fmt.Sprintf("<%s>: unknown user", r.addr))
			continue
		case errors.Is(err, directory.ErrBadAddress):
			if r.header {
				return nil, smFail(exDataErr, "recipient in the message header: %v", err)
			}
			return nil, smFail(exUsage, "recipient: %v", err)
		case err != nil:
			return nil, smFail(exTempFail, "<%s>: %v", r.addr, err)
		}
		if r.qualified && res.Class == directory.Foreign {
			unknown = append(unknown, fmt.Sprintf("<%s>: unknown user (%s is not a mail domain here: give a full address, or add the domain and an alias)", r.addr, cfg.Hostname))
			continue
		}
		for _, d := range res.Destinations {
			dk := fmt.Sprint(d.Kind) + strings.ToLower(d.Address)
			if seenDest[dk] {
				continue
			}
			seenDest[dk] = true
			routed = append(routed, delivery.Routed{Rcpt: envelope.Recipient{Address: r.addr, Notify: notify}, Dest: d})
		}
	}
	if len(unknown) > 0 {
		for _, u := range unknown[:len(unknown)-1] {
			fmt.Fprintf(stderr, "mailwarden sendmail: %s\n", u)
		}
		return nil, smFail(exNoUser, "%s; nothing delivered", unknown[len(unknown)-1])
	}
	return routed, nil
}

// qualify turns a bare name ("root") into name@hostname, as Postfix's
// append_at_myorigin does.
func qualify(addr, hostname string, header bool) smRcpt {
	if !strings.Contains(addr, "@") {
		return smRcpt{addr: addr + "@" + hostname, qualified: true, header: header}
	}
	return smRcpt{addr: addr, header: header}
}

// addrList returns the addresses of a header value or command-line
// argument. It accepts RFC 5322 lists (with display names, groups and any
// charset in encoded words) and, failing that, plain comma-separated
// addresses, bare names included ("root").
func addrList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}}
	var out []string
	if l, err := p.ParseList(s); err == nil {
		for _, a := range l {
			out = append(out, a.Address)
		}
		return out
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			if j := strings.IndexByte(part[i:], '>'); j > 0 {
				part = part[i+1 : i+j]
			}
		}
		if i := strings.IndexByte(part, ':'); i >= 0 && !strings.Contains(part[:i], "@") {
			part = part[i+1:] // group name
		}
		if part = strings.TrimSpace(strings.TrimSuffix(part, ";")); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// msgHeader is what readMessage learned from the header.
type msgHeader struct {
	date, msgID, from bool
	rcpts             []string // To, Cc, Bcc
	resent            []string // Resent-To, Resent-Cc, Resent-Bcc
	eightBit          bool
}

// readMessage copies the message from r to sp with CRLF line ends, without
// Bcc and Resent-Bcc fields and without a leading mbox "From " line. Unless
// dotOK, a line of a single "." ends the message.
func readMessage(r io.Reader, sp *envelope.Spool, dotOK bool) (*msgHeader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h := &msgHeader{}
	var field []byte // the current header field, continuation lines included
	inHeader, first := true, true
	flush := func() error {
		if field == nil {
			return nil
		}
		name, value, _ := bytes.Cut(field, []byte(":"))
		keep := true
		switch strings.ToLower(string(name)) {
		case "date":
			h.date = true
		case "message-id":
			h.msgID = true
		case "from":
			h.from = true
		case "to", "cc":
			h.rcpts = append(h.rcpts, addrList(unfold(value))...)
		case "bcc":
			h.rcpts = append(h.rcpts, addrList(unfold(value))...)
			keep = false
		case "resent-to", "resent-cc":
			h.resent = append(h.resent, addrList(unfold(value))...)
		case "resent-bcc":
			h.resent = append(h.resent, addrList(unfold(value))...)
			keep = false
		}
		var err error
		if keep {
			_, err = sp.Write(field)
		}
		field = nil
		return err
	}
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, rerr
		}
		if len(line) == 0 && rerr == io.EOF {
			break
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if !dotOK && len(line) == 1 && line[0] == '.' {
			break
		}
		for _, b := range line {
			if b >= 0x80 {
				h.eightBit = true
				break
			}
		}
		if first && bytes.HasPrefix(line, []byte("From ")) {
			first = false
			continue // mbox separator
		}
		first = false
		line = append(line, '\r', '\n')
		if inHeader {
			switch {
			case field != nil && (line[0] == ' ' || line[0] == '\t'):
				field = append(field, line...)
				continue
			case isFieldStart(line):
				if err := flush(); err != nil {
					return nil, err
				}
				field = append([]byte(nil), line...)
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
			inHeader = false
			if len(line) > 2 { // the body starts without an empty line: add one
				if _, err := sp.Write([]byte("\r\n")); err != nil {
					return nil, err
				}
			}
		}
		if _, err := sp.Write(line); err != nil {
			return nil, err
		}
		if rerr == io.EOF {
			break
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return h, nil
}

// isFieldStart reports whether line begins a header field ("Name:").
func isFieldStart(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, b := range line[:i] {
		if b <= ' ' || b > '~' {
			return false
		}
	}
	return true
}

func unfold(v []byte) string {
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(string(v))
}

// localTrace builds the Received field of a local submission and the Date,
// Message-ID and From fields the message lacks.
func localTrace(env *envelope.Envelope, hostname string, h *msgHeader, from string) []byte {
	const dateFmt = "Mon, 2 Jan 2006 15:04:05 -0700 (MST)"
	b := make([]byte, 0, 256)
	b = append(b, "Received: by "+hostname+" (Mailwarden) with "+env.Protocol+" id "+env.ID+"; "...)
	b = env.Received.AppendFormat(b, dateFmt)
	b = append(b, "\r\n"...)
	if !h.date {
		b = append(b, "Date: "...)
		b = env.Received.AppendFormat(b, dateFmt)
		b = append(b, "\r\n"...)
	}
	if !h.msgID {
		b = append(b, "Message-ID: <"+env.ID+"."...)
		b = env.Received.UTC().AppendFormat(b, "20060102150405")
		b = append(b, "@"+hostname+">\r\n"...)
	}
	if !h.from {
		b = append(b, "From: "+from+"\r\n"...)
	}
	return b
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

// sendmailLogger writes to the configured mail log file, if any; sendmail
// never writes its log to stderr (cron would mail it back).
func sendmailLogger(cfg *config.Config) (*slog.Logger, func()) {
	if cfg.Log.File != "" {
		if l, closer, err := newLogger(cfg, io.Discard); err == nil {
			return l, func() { closer.Close() }
		}
	}
	return slog.New(slog.DiscardHandler), func() {}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
