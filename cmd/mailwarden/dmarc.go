package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"mailwarden/internal/msgauth/dmarcreport"
)

// dmarcCmd: `dmarc reports [DOMAIN]` summarizes the aggregate reports
// received about our domains, `dmarc import FILE|-` stores one, `dmarc
// report DOMAIN [--day DATE]` prints the report we send about a day.
func (c *cli) dmarcCmd(args []string) error {
	const use = "dmarc reports [DOMAIN] | dmarc import FILE|- | dmarc report DOMAIN [--day YYYY-MM-DD]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("dmarc", flag.ContinueOnError)
	day := fs.String("day", "", "report: the UTC day (YYYY-MM-DD; default yesterday)")
	ctx := context.Background()
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "reports":
		if len(pos) > 1 {
			return fmt.Errorf("%w: dmarc reports [DOMAIN]", errUsage)
		}
	case "import":
		if err := need(pos, 1, "dmarc import FILE|-"); err != nil {
			return err
		}
	case "report":
		if err := need(pos, 1, "dmarc report DOMAIN [--day YYYY-MM-DD]"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "reports":
		domain := ""
		if len(pos) == 1 {
			domain = strings.ToLower(strings.TrimSuffix(pos[0], "."))
		}
		return c.dmarcReports(ctx, e, domain)
	case "import":
		return c.dmarcImport(ctx, e, pos[0])
	default:
		d := time.Now().UTC().AddDate(0, 0, -1).Truncate(24 * time.Hour)
		if *day != "" {
			if d, err = time.Parse(time.DateOnly, *day); err != nil {
				return fmt.Errorf("%w: --day %q: want YYYY-MM-DD", errUsage, *day)
			}
		}
		f, _, err := dmarcreport.Build(ctx, e.db, e.cfg, strings.ToLower(pos[0]), d.Unix(), d.AddDate(0, 0, 1).Unix())
		if err != nil {
			return err
		}
		doc, err := f.Marshal()
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(doc)
		return err
	}
}

func (c *cli) dmarcImport(ctx context.Context, e *env, name string) error {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return err
	}
	fs, err := dmarcreport.Extract(data)
	if err != nil {
		return err
	}
	for _, f := range fs {
		ok, err := dmarcreport.Save(ctx, e.db, f, time.Now())
		if err != nil {
			return err
		}
		what := "stored"
		if !ok {
			what = "already stored"
		}
		fmt.Fprintf(c.stdout, "%s: report %s from %s about %s, %d records\n", what, f.Metadata.ReportID, f.Metadata.OrgName,
			f.Policy.Domain, len(f.Records))
	}
	return nil
}

func (c *cli) dmarcReports(ctx context.Context, e *env, domain string) error {
	sums, err := dmarcreport.Summarize(ctx, e.db, domain)
	if err != nil {
		return err
	}
	if len(sums) == 0 {
		if domain != "" {
			fmt.Fprintf(c.stdout, "no DMARC aggregate reports received about %s\n", domain)
		} else {
			fmt.Fprintln(c.stdout, "no DMARC aggregate reports received")
		}
		return nil
	}
	for i, s := range sums {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "%s: %d %s from %s to %s UTC, %d messages, %.1f%% passed DMARC (%d quarantined, %d rejected)\n",
			s.Domain, s.Reports, plural(s.Reports, "report", "reports"), s.First.Format(time.DateTime), s.Last.Format(time.DateTime), s.Total.Messages, s.Total.PassRate(),
			s.Total.Quarantined, s.Total.Rejected)
		tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "\nreporter\treports\tmessages\tdmarc pass")
		for _, r := range s.Reporters {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\n", r.Name, r.Reports, r.Messages, r.PassRate())
		}
		fmt.Fprintln(tw, "\nsource IP\tmessages\tdkim pass\tspf pass\tdmarc pass\tquarantined\trejected")
		for _, a := range s.Addresses {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\t%d\t%d\n", a.Name, a.Messages, a.DKIMPass, a.SPFPass, a.PassRate(), a.Quarantined, a.Rejected)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
