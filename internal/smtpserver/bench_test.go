package smtpserver

import (
	"bufio"
	"context"
	"fmt"
	"mailwarden/internal/config"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/anvil"
	"mailwarden/internal/sqldb"
)

// BenchmarkInbound is the SMTP side's cost per message: one connection
// sends 5 KB messages (MAIL, RCPT, DATA pipelined, as bench/loadgen does)
// to a Deliverer that only reads the body. It measures the engine, the
// checks and the spool, not the store.
func BenchmarkInbound(b *testing.B) { benchInbound(b, false) }

// BenchmarkInboundLimited is BenchmarkInbound with the anvil limiter on
// (message and recipient rates counted, limits out of reach) and its
// flush to SQLite running: the difference is the limiter's cost per
// message.
func BenchmarkInboundLimited(b *testing.B) { benchInbound(b, true) }

func benchInbound(b *testing.B, limited bool) {
	var opts []func(*Options)
	if limited {
		db, err := sqldb.Open(context.Background(), filepath.Join(b.TempDir(), "m.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		lim := anvil.New(anvil.NewStore(db), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go lim.Run(ctx, anvil.FlushInterval)
		opts = append(opts, func(o *Options) { o.Limiter = lim })
	}
	h := start(b, func(c *config.Config) {
		c.SMTP.MaxMessagesPerSession = 1 << 30
		c.SMTP.ClientMessageRateLimit = 1 << 30
		c.SMTP.ClientRecipientRateLimit = 1 << 30
	}, opts...)
	h.del.discard = true
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	readReply := func() string {
		var last string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				return last
			}
		}
	}
	readReply()
	fmt.Fprintf(w, "EHLO bench.example\r\n")
	w.Flush()
	readReply()
	line := strings.Repeat("x", 76) + "\r\n"
	body := "From: a@b.example\r\nTo: alice@example.org\r\nSubject: bench\r\n\r\n" + strings.Repeat(line, 5120/len(line))
	conn.SetDeadline(time.Now().Add(10 * time.Minute))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(w, "MAIL FROM:<s@sender.example> SIZE=%d\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n", len(body))
		w.Flush()
		for k := 0; k < 3; k++ {
			if rep := readReply(); rep[0] != '2' && rep[0] != '3' {
				b.Fatalf("reply %q", rep)
			}
		}
		w.WriteString(body)
		w.WriteString(".\r\n")
		w.Flush()
		if rep := readReply(); !strings.HasPrefix(rep, "250 ") {
			b.Fatalf("reply %q", rep)
		}
	}
}
