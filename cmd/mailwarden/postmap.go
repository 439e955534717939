package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"mailwarden/internal/table"
)

// postmap answers lookups as Postfix's `postmap -q` does, reading the
// tables' text sources directly:
//
//	mailwarden postmap -q KEY TYPE:NAME [TYPE:NAME ...]
//	mailwarden postmap -q - TYPE:NAME ...   (keys on stdin, "key<TAB>value" out)
//
// Exit 0 when found, 1 when not (as postmap), 2 on errors (Postfix's
// postmap exits 1 on those too, which a script cannot tell from "not
// found").
func (c *cli) postmap(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(c.stderr, "mailwarden: postmap: "+format+"\n", a...)
		return 2
	}
	if len(args) < 3 || args[0] != "-q" {
		return fail("usage: mailwarden postmap -q KEY|- TYPE:NAME [TYPE:NAME ...]")
	}
	key := args[1]
	var tabs []table.Table
	for _, spec := range args[2:] {
		t, err := table.Open(spec, table.Options{ReloadInterval: -1})
		if err != nil {
			return fail("%v", err)
		}
		tabs = append(tabs, t)
	}
	ctx := context.Background()
	lookup := func(k string) (string, bool, error) {
		for _, t := range tabs {
			v, ok, err := t.Lookup(ctx, k)
			if err != nil || ok {
				return v, ok, err
			}
		}
		return "", false, nil
	}
	if key != "-" {
		v, ok, err := lookup(key)
		if err != nil {
			return fail("lookup %q: %v", key, err)
		}
		if !ok {
			return 1
		}
		fmt.Fprintln(c.stdout, v)
		return 0
	}
	found := false
	sc := bufio.NewScanner(c.stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		k := strings.TrimSpace(sc.Text())
		if k == "" {
			continue
		}
		v, ok, err := lookup(k)
		if err != nil {
			return fail("lookup %q: %v", k, err)
		}
		if ok {
			found = true
			fmt.Fprintf(c.stdout, "%s\t%s\n", k, v)
		}
	}
	if err := sc.Err(); err != nil {
		return fail("reading keys: %v", err)
	}
	if !found {
		return 1
	}
	return 0
}
