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

// ServeControl answers status requests on dataDir's control socket until
// ctx ends: one line "status" in, one JSON object out. The socket is the
// owner's only (0600): the server's user and root may ask.
func ServeControl(ctx context.Context, dataDir string, status func() Status) error {
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
			go answer(c, status)
		}
	}()
	return nil
}

func answer(c net.Conn, status func() Status) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 64)).ReadString('\n')
	if err != nil {
		return
	}
	if strings.TrimSpace(line) != "status" {
		fmt.Fprintln(c, `{"error":"unknown request"}`)
		return
	}
	json.NewEncoder(c).Encode(status())
}

// Query asks the server of dataDir for its status.
func Query(dataDir string) (Status, error) {
	var st Status
	c, err := net.DialTimeout("unix", SocketFile(dataDir), 5*time.Second)
	if err != nil {
		return st, fmt.Errorf("control: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "status\n"); err != nil {
		return st, fmt.Errorf("control: %w", err)
	}
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("control: %w", err)
	}
	return st, nil
}
