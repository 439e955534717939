// Command mailwarden is the whole mail system in one binary: `serve` runs
// the server, the other subcommands administer it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

const usage = `usage: mailwarden [-config PATH] COMMAND [ARGS]

commands:
  serve                         run the server
  demo [-dir DIR]               run on embedded defaults with a demo domain (loopback, high ports)
  check-config                  dry run of serve's start: config, files it names, TLS, data_dir, ports
  status | reload | stop        the server on this config's data_dir: state / re-read config (SIGHUP) / stop (SIGTERM)
  who [USER|ADDRESS|NETWORK]    logged-in IMAP and POP3 sessions by user: connections, protocols, client addresses
  kick USER|ADDRESS|NETWORK     end those IMAP and POP3 sessions (IMAP: * BYE; POP3: nothing deleted); says how many
  config show [-n]              the effective settings, key = value (postconf); -n: those not at their default
  lookup ADDRESS                where mail to ADDRESS goes: mailbox, alias, catch-all, local alias, relay, remote
  auth test ADDRESS [--password-file F]   check a password as a login would, and say why it fails
  domain add NAME [--alias-of OTHER] [--inactive] [--backup-mx] [--description TEXT]
  domain list | domain del NAME [--force]
  user add ADDRESS [--password-file F | --password-hash H] [--quota 2G] [--name NAME] [--inactive]
  user passwd ADDRESS [--password-file F | --password-hash H] | user quota ADDRESS SIZE (2G, 500M; 0: none)
  user show ADDRESS | user enable ADDRESS | user disable ADDRESS
  user del ADDRESS [--purge] | user list [DOMAIN]
  alias add ADDRESS TARGET[,TARGET...]   add targets (catch-all: @domain); --replace: as alias set
  alias set ADDRESS TARGET[,TARGET...]   replace the targets
  alias remove ADDRESS TARGET            drop one target (the alias goes with its last)
  alias list [DOMAIN] | alias del ADDRESS
  sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...]   read a message from stdin and deliver it
  block add NETWORK [--for 24h] [--reason TEXT]   drop a client network at accept on every listener
  block list | block delete NETWORK               (NETWORK: 203.0.113.0/24, 2001:db8::/48, or one address)
  greylist list [--client NET] [--sender S] [--recipient R] [--state passed|tarpit|waiting] [--whitelist]
  greylist whitelist CLIENT [--reason TEXT] | greylist delete [filters] [--all] | delete --whitelist CLIENT | stats
  dkim keygen DOMAIN [--selector S] [--algo rsa2048|rsa3072|ed25519]   make a signing key, print its DNS record
  dkim list | dkim show DOMAIN | dkim rotate DOMAIN [--algo A] [--selector S]   keys, states, records; replace a key
  dns DOMAIN [--check]          the records DOMAIN needs (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT) in zone-file syntax;
                                --check: compare with live DNS, exit 1 when one is missing or wrong
  login blocked                 clients locked out by [auth] max_failures (until when, names tried) and automatic blocks
  login unblock ADDRESS|NETWORK|USER   lift those lockouts and automatic blocks, clear the clients' counters
                                (USER: every client that failed logging in as USER)
  auth unlock ADDRESS|NETWORK   the older name of login unblock
  queue list | show ID | flush [ID] | delete ID|ALL | hold ID|ALL | release ID|ALL
  import-maildir ADDRESS DIR    copy a Dovecot Maildir++ tree (folders, flags, UIDs) into a mailbox
                                (@DOMAIN: a public namespace's tree into the domain's shared mailboxes)
  acl set OWNER FOLDER IDENTIFIER RIGHTS   IMAP ACL (RFC 4314): give IDENTIFIER (an address, anyone, authenticated;
                                -IDENTIFIER: negative rights) RIGHTS of lrswipkxtea on a folder; +RIGHTS adds, -RIGHTS removes
  acl delete OWNER FOLDER IDENTIFIER | acl list OWNER [FOLDER]   (OWNER: ADDRESS, or @DOMAIN for its shared mailboxes)
  acl import OWNER DIR          the dovecot-acl files of a Dovecot Maildir++ tree (after import-maildir); says what it skips
  shared create DOMAIN NAME [--anyone RIGHTS]   make the shared mailbox Shared/NAME for the users of DOMAIN
  shared list DOMAIN | shared delete DOMAIN NAME
  postmap -q KEY|- TYPE:FILE...  look KEY up in a Postfix table (hash:, regexp:, pcre:, cidr:, inline:, static: ...)
                                as Postfix's postmap -q: exit 0 found, 1 not found, 2 error
  policyd --listen ADDR [--targrey] [--restriction ENTRY]...   serve Postfix's policy protocol (check_policy_service)
                                from Mailwarden's checks (default check_greylist)
  dmarc reports [DOMAIN]        DMARC aggregate reports received about our domains: reporters, volumes, pass rates per source IP
  dmarc import FILE|-           store a received aggregate report (XML, .gz, .zip, or a mail carrying one)
  dmarc report DOMAIN [--day YYYY-MM-DD]   the aggregate report (XML) about DOMAIN's mail of that UTC day, as sent to its rua
  version | --version           release and commit

The config is read from -config PATH, else $MAILWARDEN_CONFIG, else /etc/mailwarden/mailwarden.toml.
`

func main() {
	// Files Mailwarden creates (database, Maildir and queue files,
	// certificates) are its own only, as Postfix's daemons run with umask
	// 077; the few that local users need (the pickup socket, the maildrop
	// and its files) get their modes set explicitly.
	syscall.Umask(0o077)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks errors that should print the usage text.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// A global -config before the command is allowed too.
	var cfgPath string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if name != "config" {
			if name == "h" || name == "help" {
				fmt.Fprint(stdout, usage)
				return 0
			}
			if name == "version" || name == "V" {
				fmt.Fprintln(stdout, "mailwarden", versionString())
				return 0
			}
			fmt.Fprintf(stderr, "mailwarden: unknown flag %s\n%s", args[0], usage)
			return 2
		}
		if !hasVal {
			if len(args) < 2 {
				fmt.Fprintln(stderr, "mailwarden: -config needs a path")
				return 2
			}
			val, args = args[1], args[1:]
		}
		cfgPath, args = val, args[1:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if wantsHelp(args[1:]) && args[0] != "sendmail" && args[0] != "postmap" {
		// Help needs no config file: it is the usage lines of the verb.
		fmt.Fprint(stdout, verbUsage(args[0]))
		return 0
	}
	c := &cli{cfgPath: cfgPath, stdin: stdin, stdout: stdout, stderr: stderr}
	var err error
	switch args[0] {
	case "serve":
		err = c.serve(args[1:])
	case "demo":
		err = c.demo(args[1:])
	case "check-config":
		err = c.checkConfig(args[1:])
	case "status":
		err = c.status(args[1:])
	case "reload":
		err = c.reloadCmd(args[1:])
	case "stop":
		err = c.stop(args[1:])
	case "who":
		err = c.who(args[1:])
	case "kick":
		err = c.kick(args[1:])
	case "lookup":
		err = c.lookup(args[1:])
	case "config":
		err = c.configShow(args[1:])
	case "domain":
		err = c.domain(args[1:])
	case "user":
		err = c.user(args[1:])
	case "alias":
		err = c.alias(args[1:])
	case "queue":
		err = c.queueCmd(args[1:])
	case "block":
		err = c.block(args[1:])
	case "login":
		err = c.loginCmd(args[1:])
	case "greylist":
		err = c.greylistCmd(args[1:])
	case "dns":
		err = c.dnsRecords(args[1:])
	case "dkim":
		err = c.dkimCmd(args[1:])
	case "auth":
		if len(args) > 1 && args[1] == "test" {
			err = c.authTest(args[1:])
		} else {
			err = c.authCmd(args[1:])
		}
	case "sendmail":
		return c.sendmail(args[1:])
	case "import-maildir":
		err = c.importMaildir(args[1:])
	case "acl":
		err = c.aclCmd(args[1:])
	case "shared":
		err = c.sharedCmd(args[1:])
	case "postmap":
		return c.postmap(args[1:])
	case "policyd":
		err = c.policyd(args[1:])
	case "dmarc":
		err = c.dmarcCmd(args[1:])
	case "version":
		fmt.Fprintln(stdout, "mailwarden", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintf(stderr, "mailwarden: %s\n", ee.msg)
			}
			return ee.code
		}
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "mailwarden: %v\n%s", err, usage)
			return 2
		}
		fmt.Fprintf(stderr, "mailwarden: %v\n", err)
		return 1
	}
	return 0
}

type cli struct {
	cfgPath        string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// parse parses flags that may stand before, between or after positionals
// (`user add a@b --quota 2G` and `user add --quota 2G a@b` both work).
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.cfgPath, "config", c.cfgPath, "config file")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func need(pos []string, n int, what string) error {
	if len(pos) != n {
		return fmt.Errorf("%w: want %s", errUsage, what)
	}
	return nil
}

// wantsHelp reports whether args ask for help (-h, --help, help) before
// any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

// verbUsage is the part of the usage text about verb, with the config
// note; the whole text for a verb it does not describe.
func verbUsage(verb string) string {
	var b strings.Builder
	b.WriteString("usage:\n")
	found := false
	in := false // inside a matching entry (continuation lines are indented more)
	for _, l := range strings.Split(usage, "\n") {
		f := strings.Fields(l)
		switch {
		case !strings.HasPrefix(l, "  "):
			in = false
		case strings.HasPrefix(l, "    "):
			// a continuation of the entry before
		default:
			in = len(f) > 0 && (f[0] == verb || strings.Contains(l, "| "+verb+" "))
		}
		if in {
			b.WriteString(l + "\n")
			found = true
		}
	}
	if !found {
		return usage
	}
	b.WriteString("\nOptions may stand before or after the arguments; -config PATH picks the config file\n(else $MAILWARDEN_CONFIG, else /etc/mailwarden/mailwarden.toml).\n")
	return b.String()
}
