package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The mixed load: N clients, all on the same user's folder, for a fixed
// time; each cycle is a random mix of the commands a mail client sends,
// in the spirit of Dovecot's imaptest default profile (its probabilities,
// not its code): LIST and STATUS half the time, SELECT, a FETCH of a
// range of headers and one of a whole message, a flag STORE half the
// time, one message marked \Deleted, EXPUNGE and an APPEND of a 4.5 KB
// message, so that the folder keeps about its size. With -login each
// cycle is a new connection with LOGIN and LOGOUT around it.
//
// Under concurrency a command may legitimately fail (a STORE on a message
// another client just expunged answers NO): such answers are counted
// apart; only a broken connection stops a client.

// mixKinds are the command kinds counted, in report order.
var mixKinds = []string{"LOGIN", "LIST", "STATUS", "SELECT", "FETCH", "STORE", "EXPUNGE", "APPEND", "LOGOUT"}

type mixCounts struct {
	ok, no  map[string]int
	lat     map[string]time.Duration // total time of the OK ones
	cycles  int
	connErr int
}

func newMixCounts() *mixCounts {
	return &mixCounts{ok: map[string]int{}, no: map[string]int{}, lat: map[string]time.Duration{}}
}

func (c *mixCounts) add(o *mixCounts) {
	for k, v := range o.ok {
		c.ok[k] += v
	}
	for k, v := range o.no {
		c.no[k] += v
	}
	for k, v := range o.lat {
		c.lat[k] += v
	}
	c.cycles += o.cycles
	c.connErr += o.connErr
}

// mixMessage is the APPENDed message: about the size of the benchmark's
// generated mail, with a header a client would list.
func mixMessage(r *rand.Rand, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mix Client %d <mix%d@bench.test>\r\nTo: u@bench.test\r\n", n, n)
	fmt.Fprintf(&b, "Subject: mixed load message %d\r\nDate: %s\r\n", r.IntN(1_000_000), time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <mix.%d.%d@bench.test>\r\n\r\n", n, r.Int64())
	for range 60 {
		b.WriteString("0123456789abcdefghijklmnopqrstuvwxyz01234567890123456789012345678\r\n")
	}
	return b.String()
}

var mixFlags = []string{`\Seen`, `\Flagged`, `\Answered`, `$Label1`, `$Label2`}

func mixBench(addr, user, pass, folder string, clients int, dur time.Duration, login bool) error {
	total := newMixCounts()
	var mu sync.Mutex
	var firstErr error
	// Without -login every client logs in before the clock starts, so
	// that the timed part has no password check in it.
	conns := make([]*client, clients)
	if !login {
		for n := range conns {
			cl, err := dial(addr, user, pass)
			if err != nil {
				return fmt.Errorf("mix: client %d: %w", n, err)
			}
			conns[n] = cl
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for n := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc := newMixCounts()
			err := mixClient(addr, user, pass, folder, n, conns[n], deadline, login, mc)
			mu.Lock()
			defer mu.Unlock()
			total.add(mc)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("client %d: %w", n, err)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "imapbench: mix:", firstErr)
	}
	cmds := 0
	var parts []string
	for _, k := range mixKinds {
		if total.ok[k] == 0 && total.no[k] == 0 {
			continue
		}
		cmds += total.ok[k]
		p := fmt.Sprintf("%s=%d", strings.ToLower(k), total.ok[k])
		if total.no[k] > 0 {
			p += fmt.Sprintf("(+%dno)", total.no[k])
		}
		if total.ok[k] > 0 {
			p += fmt.Sprintf("@%.2fms", ms(total.lat[k]/time.Duration(total.ok[k])))
		}
		parts = append(parts, p)
	}
	fmt.Printf("mode=mix login=%v clients=%d elapsed=%.1fs cycles=%d cycles_per_s=%.1f commands=%d commands_per_s=%.0f conn_errors=%d %s\n",
		login, clients, el.Seconds(), total.cycles, float64(total.cycles)/el.Seconds(), cmds, float64(cmds)/el.Seconds(),
		total.connErr, strings.Join(parts, " "))
	if total.cycles == 0 {
		return fmt.Errorf("mix: no cycle completed")
	}
	return nil
}

// mixClient runs cycles until deadline, on cl if it is not nil. Without
// login one connection serves every cycle; a broken connection is counted
// and replaced.
func mixClient(addr, user, pass, folder string, n int, cl *client, deadline time.Time, login bool, mc *mixCounts) error {
	r := rand.New(rand.NewPCG(uint64(n)+1, uint64(time.Now().UnixNano())))
	defer func() {
		if cl != nil {
			cl.c.Close()
		}
	}()
	failures := 0
	for time.Now().Before(deadline) {
		if cl == nil {
			var err error
			t0 := time.Now()
			if cl, err = dial(addr, user, pass); err != nil {
				mc.connErr++
				if failures++; failures > 10 {
					return err
				}
				cl = nil
				time.Sleep(100 * time.Millisecond)
				continue
			}
			mc.ok["LOGIN"]++
			mc.lat["LOGIN"] += time.Since(t0)
		}
		if err := mixCycle(cl, r, folder, n, mc); err != nil {
			mc.connErr++
			cl.c.Close()
			cl = nil
			if failures++; failures > 10 {
				return err
			}
			continue
		}
		if login {
			t0 := time.Now()
			if st, err := cl.status("LOGOUT"); err == nil && st == "OK" {
				mc.ok["LOGOUT"]++
				mc.lat["LOGOUT"] += time.Since(t0)
			}
			cl.c.Close()
			cl = nil
		}
		mc.cycles++
	}
	return nil
}

// mixCycle is one cycle on a logged-in connection; an error means the
// connection is unusable.
func mixCycle(cl *client, r *rand.Rand, folder string, n int, mc *mixCounts) error {
	run := func(kind, cmd string) error {
		t0 := time.Now()
		st, err := cl.status(cmd)
		if err != nil {
			return err
		}
		if st == "OK" {
			mc.ok[kind]++
			mc.lat[kind] += time.Since(t0)
		} else {
			mc.no[kind]++
		}
		return nil
	}
	// pick returns a sequence number from what the client was told.
	pick := func() int { return 1 + r.IntN(cl.exists) }
	if r.IntN(2) == 0 {
		if err := run("LIST", `LIST "" "*"`); err != nil {
			return err
		}
	}
	if r.IntN(2) == 0 {
		if err := run("STATUS", "STATUS "+folder+" (MESSAGES UNSEEN UIDNEXT)"); err != nil {
			return err
		}
	}
	cl.exists = 0
	if err := run("SELECT", "SELECT "+folder); err != nil {
		return err
	}
	if cl.exists > 0 {
		lo := pick()
		hi := min(cl.exists, lo+r.IntN(20))
		if err := run("FETCH", fmt.Sprintf("FETCH %d:%d (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)", lo, hi)); err != nil {
			return err
		}
	}
	if cl.exists > 0 {
		if err := run("FETCH", fmt.Sprintf("FETCH %d (BODY.PEEK[])", pick())); err != nil {
			return err
		}
	}
	if cl.exists > 0 && r.IntN(2) == 0 {
		op := "+FLAGS"
		if r.IntN(3) == 0 {
			op = "-FLAGS"
		}
		if err := run("STORE", fmt.Sprintf("STORE %d %s (%s)", pick(), op, mixFlags[r.IntN(len(mixFlags))])); err != nil {
			return err
		}
	}
	if cl.exists > 0 {
		if err := run("STORE", fmt.Sprintf(`STORE %d +FLAGS.SILENT (\Deleted)`, pick())); err != nil {
			return err
		}
	}
	if err := run("EXPUNGE", "EXPUNGE"); err != nil {
		return err
	}
	msg := mixMessage(r, n)
	return run("APPEND", fmt.Sprintf("APPEND %s {%d+}\r\n%s", folder, len(msg), msg))
}

// noteUntagged follows the message count the client was told: "* n
// EXISTS" and "* n EXPUNGE" (VANISHED is not enabled here).
func (cl *client) noteUntagged(line string) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "*" {
		return
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return
	}
	switch strings.ToUpper(f[2]) {
	case "EXISTS":
		cl.exists = n
	case "EXPUNGE":
		if cl.exists > 0 {
			cl.exists--
		}
	}
}
