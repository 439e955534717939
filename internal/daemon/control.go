package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SocketFile is the control socket of a data directory.
func SocketFile(dataDir string) string { return filepath.Join(dataDir, "control.sock") }

// Listener is one listening address of the server.
type Listener struct {
	Service string `json:"service"`
	Addr    string `json:"addr"`
}

// Status is what the server reports about itself.
type Status struct {
	Pid       int              `json:"pid"`
	Version   string           `json:"version"`
	Config    string           `json:"config"`
	Started   time.Time        `json:"started"`
	Listeners []Listener       `json:"listeners"`
	Conns     map[string]int64 `json:"connections"` // open connections by service
	LoggedIn  int              `json:"logged_in"`   // IMAP and POP3 sessions logged in (who)
	Queue     QueueCounts      `json:"queue"`
	// Reloads counts the SIGHUPs handled; LastReload says how the last
	// one went ("ok", or the error), with what it could not apply.
	Reloads    int    `json:"reloads"`
	LastReload string `json:"last_reload,omitempty"`
}

// QueueCounts are the queue's messages by state.
type QueueCounts struct {
	Active, Deferred, Hold int
}

// Session is one logged-in IMAP or POP3 session (mailwarden who).
type Session struct {
	User     string    `json:"user"`
	Protocol string    `json:"protocol"`
	Remote   string    `json:"remote"`
	Since    time.Time `json:"since"`
}

// Kicked is the answer to a kick: how many sessions were told to end,
// and how many of them had not ended yet when the server stopped
// waiting.
type Kicked struct {
	Kicked int `json:"kicked"`
	Left   int `json:"left"`
}

// Handlers answer the control socket's requests; a nil one answers that
// the server does not do it.
type Handlers struct {
	Status func() Status
	Who    func() []Session
	// Kick ends the sessions of a user, or of a client address or
	// network, and waits (until ctx ends) for them to end.
	Kick func(ctx context.Context, match string) Kicked
}

const (
	maxRequest  = 512              // one request line
	answerLimit = 5 * time.Second  // status, who
	kickLimit   = 30 * time.Second // kicked sessions have 10s to say goodbye
)

// ServeControl answers requests on dataDir's control socket until ctx
// ends: one line in ("status", "who", "kick USER|ADDRESS|NETWORK"), one
// JSON object out. The socket is the owner's only (0600): the server's
// user and root may ask.
func ServeControl(ctx context.Context, dataDir string, h Handlers) error {
	path := SocketFile(dataDir)
	// Only the lock holder gets here: a socket file left is a dead
	// server's.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("control: %w", err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
		os.Remove(path)
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go answer(ctx, c, h)
		}
	}()
	return nil
}

func answer(ctx context.Context, c net.Conn, h Handlers) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(answerLimit))
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadString('\n')
	if err != nil {
		return
	}
	verb, arg, err := parseRequest(line)
	enc := json.NewEncoder(c)
	refuse := func(msg string) { enc.Encode(map[string]string{"error": msg}) }
	if err != nil {
		refuse(err.Error())
		return
	}
	switch {
	case verb == "status" && h.Status != nil:
		enc.Encode(h.Status())
	case verb == "who" && h.Who != nil:
		enc.Encode(struct {
			Sessions []Session `json:"sessions"`
		}{h.Who()})
	case verb == "kick" && h.Kick != nil:
		c.SetDeadline(time.Now().Add(kickLimit))
		kctx, cancel := context.WithTimeout(ctx, kickLimit-time.Second)
		defer cancel()
		enc.Encode(h.Kick(kctx, arg))
	default:
		refuse("unknown request")
	}
}

// parseRequest splits a request line into its verb and argument: "status"
// and "who" take none, "kick" one (a user name, an address or a network:
// no control characters).
func parseRequest(line string) (verb, arg string, err error) {
	verb, arg, _ = strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch verb {
	case "status", "who":
		if arg != "" {
			return "", "", fmt.Errorf("%s takes no argument", verb)
		}
	case "kick":
		if arg == "" || strings.ContainsFunc(arg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return "", "", errors.New("kick needs a user name, a client address or a network")
		}
	default:
		return "", "", errors.New("unknown request")
	}
	return verb, arg, nil
}

// Query asks the server of dataDir for its status.
func Query(dataDir string) (Status, error) {
	var st Status
	err := request(dataDir, "status", answerLimit, &st)
	return st, err
}

// Who asks the server of dataDir for its logged-in IMAP and POP3
// sessions.
func Who(dataDir string) ([]Session, error) {
	var r struct {
		Sessions []Session `json:"sessions"`
	}
	err := request(dataDir, "who", answerLimit, &r)
	return r.Sessions, err
}

// Kick asks the server of dataDir to end the IMAP and POP3 sessions of a
// user, or of a client address or network, and waits for the answer.
func Kick(dataDir, match string) (Kicked, error) {
	var k Kicked
	if match == "" || len(match) > maxRequest-8 || strings.ContainsFunc(match, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return k, fmt.Errorf("control: kick %q: not a user name, address or network", match)
	}
	err := request(dataDir, "kick "+match, kickLimit+5*time.Second, &k)
	return k, err
}

// request sends one request line and decodes the answer into out; an
// answer {"error": ...} is returned as an error.
func request(dataDir, line string, limit time.Duration, out any) error {
	c, err := net.DialTimeout("unix", SocketFile(dataDir), 5*time.Second)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(limit + 5*time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	var raw json.RawMessage
	if err := json.NewDecoder(io.LimitReader(c, 16<<20)).Decode(&raw); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		verb, _, _ := strings.Cut(line, " ")
		return fmt.Errorf("control: %s: the server answered: %s", verb, e.Error)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	return nil
}
