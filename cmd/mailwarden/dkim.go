package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"mailwarden/internal/msgauth/dkim"
)

// dkimCmd administers DKIM keys: `dkim keygen DOMAIN [--selector S]
// [--algo A]`, `dkim list`, `dkim show DOMAIN`, `dkim rotate DOMAIN
// [--algo A] [--selector S]`. Keys live in the database; a running
// server signs with a new active key from the next message on.
func (c *cli) dkimCmd(args []string) error {
	const use = "dkim keygen DOMAIN [--selector S] [--algo rsa2048|rsa3072|ed25519] | dkim list | dkim show DOMAIN | " +
		"dkim rotate DOMAIN [--algo rsa2048|rsa3072|ed25519] [--selector S]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("dkim", flag.ContinueOnError)
	selector := fs.String("selector", "", "the selector (default mwYYYYMM and r for RSA, e for Ed25519)")
	algoStr := fs.String("algo", "", "rsa2048 (keygen's default), rsa3072 or ed25519")
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	var algo dkim.Algorithm
	if *algoStr != "" {
		if algo, err = dkim.ParseAlgorithm(*algoStr); err != nil {
			return err
		}
	}
	var domain string
	switch args[0] {
	case "keygen", "rotate", "show":
		if err := need(pos, 1, "dkim "+args[0]+" DOMAIN"); err != nil {
			return err
		}
		if domain, err = dkim.NormalizeDomain(pos[0]); err != nil {
			return err
		}
	case "list":
		if err := need(pos, 0, "dkim list"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	ctx := context.Background()
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	st := dkim.NewStore(e.db, nil)
	now := time.Now()
	switch args[0] {
	case "keygen":
		if algo == "" {
			algo = dkim.RSA2048
		}
		k, err := st.Create(ctx, domain, *selector, algo)
		if err != nil {
			return err
		}
		printRecord(c.stdout, k)
		fmt.Fprintf(c.stderr, "mailwarden: %s: %s key %s created; it signs mail from %s from now on: publish the record above\n",
			domain, k.Algorithm, k.Selector, domain)
		return nil
	case "rotate":
		rs, err := st.Rotate(ctx, domain, algo, *selector, e.cfg.DKIM.RotatePublishDelay.D(), e.cfg.DKIM.RotateRetireDelay.D())
		if err != nil {
			return err
		}
		for i, r := range rs {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			printRecord(c.stdout, r.New)
			fmt.Fprintln(c.stdout)
			fmt.Fprintf(c.stdout, "; publish the record above now: %s signs from %s\n", r.New.Selector, stamp(r.New.ActiveFrom))
			for _, o := range r.Old {
				fmt.Fprintf(c.stdout, "; %s stops signing then; remove its record %s after %s\n", o.Selector, o.RecordName(), stamp(o.DeleteAt))
			}
		}
		return nil
	case "show":
		keys, err := st.List(ctx, domain)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("%s has no DKIM key: create one with `mailwarden dkim keygen %s`", domain, domain)
		}
		for i, k := range keys {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			fmt.Fprintf(c.stdout, "; %s %s %s: %s\n", k.Domain, k.Selector, k.Algorithm, describe(k, now))
			printRecord(c.stdout, k)
		}
		return nil
	}
	keys, err := st.List(ctx, "")
	if err != nil {
		return err
	}
	tw := c.table("DOMAIN", "SELECTOR", "ALGORITHM", "STATE", "SIGNS FROM", "RETIRES", "DNS RECORD UNTIL")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Domain, k.Selector, k.Algorithm, k.StateAt(now),
			stamp(k.ActiveFrom), stamp(k.RetireAt), stamp(k.DeleteAt))
	}
	return tw.Flush()
}

// printRecord writes a key's DNS record: its name, the TXT value as one
// string, a blank line, then the record in zone-file syntax.
func printRecord(w io.Writer, k dkim.Key) {
	fmt.Fprintln(w, k.RecordName())
	fmt.Fprintln(w, k.Record())
	fmt.Fprintln(w)
	fmt.Fprintln(w, dkim.ZoneLines(k.RecordName(), k.Record()))
}

// describe says what a key is doing and what to do with its record.
func describe(k dkim.Key, now time.Time) string {
	switch k.StateAt(now) {
	case dkim.Published:
		return "published, signs from " + stamp(k.ActiveFrom) + " (the record must be in DNS by then)"
	case dkim.Retired:
		return "retired since " + stamp(k.RetireAt) + "; keep the record until " + stamp(k.DeleteAt)
	case dkim.Deleted:
		return "deleted since " + stamp(k.DeleteAt) + ": remove the record from DNS"
	}
	if !k.RetireAt.IsZero() {
		return "active, retires at " + stamp(k.RetireAt)
	}
	return "active since " + stamp(k.ActiveFrom)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}
