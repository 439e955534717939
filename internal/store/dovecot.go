package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// This file reads the metadata Dovecot keeps beside a Maildir++ tree
// (doc.dovecot.org, "Maildir mbox format"): dovecot-uidlist,
// dovecot-keywords and subscriptions.

// uidList is a parsed dovecot-uidlist.
type uidList struct {
	validity, next int64
	byBase         map[string]int64 // base name (no ":2,...") -> UID
	byKey          map[string]int64 // unique part (before ',') -> UID
}

// readUIDList parses a dovecot-uidlist. Version 3 (and 2) headers carry
// "V<uidvalidity> N<nextuid>"; version 1 headers are "1 <uidvalidity>
// <nextuid>". Record lines are "<uid> [fields] :<base name>" (version 1:
// "<uid> <base name>"). The header's next UID may lag behind the records.
func readUIDList(path string) (*uidList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	if !sc.Scan() {
		return nil, fmt.Errorf("%s: empty", path)
	}
	l := &uidList{byBase: map[string]int64{}, byKey: map[string]int64{}}
	head := strings.Fields(sc.Text())
	if len(head) == 0 {
		return nil, fmt.Errorf("%s: bad header", path)
	}
	version := head[0]
	if version == "1" && len(head) >= 3 {
		l.validity, _ = strconv.ParseInt(head[1], 10, 64)
		l.next, _ = strconv.ParseInt(head[2], 10, 64)
	} else {
		for _, h := range head[1:] {
			switch h[0] {
			case 'V':
				l.validity, _ = strconv.ParseInt(h[1:], 10, 64)
			case 'N':
				l.next, _ = strconv.ParseInt(h[1:], 10, 64)
			}
		}
	}
	if l.validity <= 0 || l.validity > 1<<32-1 {
		return nil, fmt.Errorf("%s: bad UIDVALIDITY in header %q", path, sc.Text())
	}
	for sc.Scan() {
		line := sc.Text()
		num, rest, ok := strings.Cut(line, " ")
		uid, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || uid <= 0 || uid > 1<<32-1 {
			continue
		}
		name := rest
		if i := strings.Index(rest, ":"); i >= 0 && version != "1" {
			name = rest[i+1:]
		} else if fs := strings.Fields(rest); len(fs) > 0 {
			name = fs[len(fs)-1]
		}
		base := baseName(name)
		l.byBase[base] = uid
		l.byKey[importKey(base)] = uid
		l.next = max(l.next, uid+1)
	}
	return l, sc.Err()
}

// uid returns the UID recorded for a base name, or 0.
func (l *uidList) uid(base string) int64 {
	if l == nil {
		return 0
	}
	if u, ok := l.byBase[base]; ok {
		return u
	}
	return l.byKey[importKey(base)]
}

// importKey is the unique part of a Maildir base name, before the ",S=..."
// fields (which an import rewrites, because it stores CRLF).
func importKey(base string) string {
	if i := strings.IndexByte(base, ','); i > 0 {
		return base[:i]
	}
	return base
}

// readKeywords parses dovecot-keywords ("<index> <keyword>" lines); index
// 0 is info letter 'a', 25 is 'z'.
func readKeywords(path string) map[rune]string {
	out := map[rune]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		num, kw, ok := strings.Cut(strings.TrimSpace(line), " ")
		i, err := strconv.Atoi(num)
		if ok && err == nil && i >= 0 && i < 26 {
			if c, ok := canonFlag(kw); ok && c[0] != '\\' {
				out[rune('a'+i)] = c
			}
		}
	}
	return out
}

// importFlags returns the flags of a Maildir file name: system flags from
// the upper-case info letters, keywords from Dovecot's lower-case ones.
func importFlags(name string, keywords map[rune]string) []string {
	info := infoOf(name)
	flags := splitFlags(flagsFromInfo(info))
	for _, c := range info {
		if kw, ok := keywords[c]; ok {
			flags = append(flags, kw)
		}
	}
	return normFlags(flags)
}

// readSubscriptions parses Dovecot's subscriptions file: version 2 starts
// with "V\t2" and a blank line and separates hierarchy levels with a tab;
// version 1 has one name per line with the hierarchy separator.
func readSubscriptions(path string) (map[string]bool, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	v2 := len(lines) > 0 && lines[0] == "V\t2"
	if v2 {
		lines = lines[1:]
	}
	out := map[string]bool{}
	for _, l := range lines {
		if l == "" {
			continue
		}
		if v2 {
			l = strings.ReplaceAll(l, "\t", Delimiter)
		}
		if n, err := canonName(l); err == nil {
			out[n] = true
		}
	}
	return out, true
}

// sourceFolder is one folder of a Maildir++ tree to import.
type sourceFolder struct{ name, dir string }

// scanTree lists the folders of a Maildir++ tree: INBOX at the root and
// every ".Name" directory holding cur/ or new/. Names that are not valid
// here are reported in skipped.
func scanTree(dir string) (folders []sourceFolder, skipped []string, err error) {
	if !isMaildir(dir) {
		return nil, nil, fmt.Errorf("%s is not a Maildir (no cur/ or new/)", dir)
	}
	folders = append(folders, sourceFolder{"INBOX", dir})
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		p := filepath.Join(dir, n)
		if !isMaildir(p) {
			continue
		}
		name, err := canonName(n[1:])
		if err != nil || name == "INBOX" {
			skipped = append(skipped, n)
			continue
		}
		folders = append(folders, sourceFolder{name, p})
	}
	sort.Slice(folders[1:], func(i, j int) bool { return folders[1+i].name < folders[1+j].name })
	return folders, skipped, nil
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// guessSpecialUse returns the RFC 6154 attribute that a top-level folder
// name usually means, in English and a few common localisations (names
// are modified UTF-7, as stored).
func guessSpecialUse(name string) string {
	switch strings.ToLower(name) {
	case "sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete elemente",
		"gesendete objekte", "envoy&aok-s", "messages envoy&aok-s", "enviados", "elementos enviados",
		"posta inviata", "inviati", "verzonden", "verzonden items", "skickat":
		return `\Sent`
	case "drafts", "draft", "entw&apw-rfe", "brouillons", "borradores", "bozze", "concepten", "utkast":
		return `\Drafts`
	case "junk", "spam", "junk e-mail", "junk email", "bulk mail", "ind&aok-sirables", "correo no deseado",
		"posta indesiderata", "ongewenste e-mail", "skr&aoq-ppost":
		return `\Junk`
	case "trash", "deleted messages", "deleted items", "bin", "papierkorb", "gel&apy-schte elemente",
		"corbeille", "papelera", "cestino", "prullenbak", "papperskorgen":
		return `\Trash`
	case "archive", "archives", "archiv", "archivo", "archivio", "archief", "arkiv":
		return `\Archive`
	}
	return ""
}

// crlfWriter turns bare LF line ends into CRLF: Dovecot stores LF and
// serves CRLF, Mailwarden stores what it serves.
type crlfWriter struct {
	w      io.Writer
	prevCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	for i, b := range p {
		if b != '\n' {
			continue
		}
		if (i > 0 && p[i-1] == '\r') || (i == 0 && c.prevCR) {
			continue
		}
		if _, err := c.w.Write(p[start:i]); err != nil {
			return start, err
		}
		if _, err := c.w.Write([]byte{'\r'}); err != nil {
			return i, err
		}
		start = i
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return start, err
	}
	if len(p) > 0 {
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}
