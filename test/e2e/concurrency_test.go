package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// pyBurstScript sends every job of a JSON list on its own smtplib
// connection, all threads released at once by a barrier, and prints one
// result per job.
const pyBurstScript = `
import json, smtplib, sys, threading
req = json.load(sys.stdin)
jobs = req["jobs"]
results = [None] * len(jobs)
barrier = threading.Barrier(len(jobs))
def run(i, job):
    r = {"id": job["id"], "ok": False}
    try:
        barrier.wait(timeout=60)
        s = smtplib.SMTP(req["host"], req["port"], local_hostname="client.e2e.test",
                         source_address=("127.0.0.2", 0), timeout=120)
        refused = s.sendmail(job["from"], job["to"], job["msg"].encode())
        r["ok"] = not refused
        if refused:
            r["error"] = repr(refused)
        s.quit()
    except smtplib.SMTPResponseException as e:
        r["error"] = "%d %s" % (e.smtp_code, e.smtp_error)
    except Exception as e:
        r["error"] = repr(e)
    results[i] = r
threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
`

type burstJob struct {
	ID   string   `json:"id"`
	From string   `json:"from"`
	To   []string `json:"to"`
	Msg  string   `json:"msg"`
}

type burstResult struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// TestConcurrentSenders: 100 smtplib clients connect at the same moment from
// outside mynetworks, each with one distinct message to one of 4
// mailboxes; every one gets 250, every message is stored exactly once in
// the right mailbox and nowhere else, and the index (rows, sizes, UIDs,
// quota2) matches the files.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	users := []string{"u0@dom.test", "u1@dom.test", "u2@dom.test", "u3@dom.test"}
	s := startServer(t, options{SMTP: []string{"max_connections_per_ip = 200"}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		for _, u := range users {
			s.addUser(u)
		}
	})
	const n = 100
	var jobs []burstJob
	owner := map[string]string{}
	for i := 0; i < n; i++ {
		to := users[i%len(users)]
		id := newMessageID(fmt.Sprintf("burst%d", i))
		owner[id] = to
		body := strings.Repeat(fmt.Sprintf("message %d of the concurrent burst\n", i), 1+i%40)
		jobs = append(jobs, burstJob{ID: id, From: fmt.Sprintf("sender%d@remote.example", i), To: []string{to},
			Msg: message("sender@remote.example", to, fmt.Sprintf("burst %d", i), id, body)})
	}
	in, err := json.Marshal(map[string]any{"host": "127.0.0.1", "port": s.Port, "jobs": jobs})
	if err != nil {
		t.Fatal(err)
	}
	var results []burstResult
	if err := json.Unmarshal([]byte(runPythonIn(t, string(in), pyBurstScript)), &results); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
			if failed <= 10 {
				t.Errorf("%s: %s", r.ID, r.Error)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d concurrent senders did not get 250", failed, n)
	}

	seen := map[string]int{}
	for _, u := range users {
		for id, c := range countByMessageID(s.inbox(u)) {
			if owner[id] != u {
				t.Errorf("%s holds %q, sent to %s", u, id, owner[id])
			}
			seen[id] += c
		}
	}
	for id := range owner {
		if seen[id] != 1 {
			t.Errorf("%s stored %d times, want exactly 1", id, seen[id])
		}
	}
	if total := len(s.allMailFiles()); total != n {
		t.Errorf("%d message files under data_dir/mail, want %d", total, n)
	}
	s.checkIndex()
}
