package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// DomainClass says how this server treats a recipient domain.
type DomainClass int

const (
	// Foreign: not ours; relaying needs mynetworks or authentication.
	Foreign DomainClass = iota
	// Virtual: a mailbox domain (Postfix virtual_mailbox_domains).
	Virtual
	// AliasDomain: rewritten to its target domain.
	AliasDomain
	// BackupMX: accepted for any local part and queued for the real MX
	// (a backup-MX domain in the database or a relay_domains entry).
	BackupMX
)

// DestKind is where one resolved recipient goes.
type DestKind int

const (
	// Local: a mailbox on this server.
	Local DestKind = iota
	// Remote: a foreign address (an alias pointing outside, or relaying).
	Remote
	// Relay: a backup-MX domain's address, held for the primary.
	Relay
)

// Destination is one final recipient after alias expansion.
type Destination struct {
	Kind    DestKind
	Address string  // final address (for Local: the mailbox username)
	Mailbox Mailbox // for Local
}

// Resolution is the outcome of looking up one RCPT TO address.
type Resolution struct {
	Class        DomainClass // of the original recipient's domain
	Destinations []Destination
}

// ErrUnknownUser means a local domain has no such recipient.
var ErrUnknownUser = errors.New("unknown user")

// maxAliasDepth bounds alias recursion (Postfix virtual_alias_recursion_limit).
const maxAliasDepth = 20

// maxExpansion bounds fan-out (Postfix virtual_alias_expansion_limit).
const maxExpansion = 1000

// Resolve expands addr through alias domains, aliases, recipient extensions
// and catch-alls. delims holds the recipient_delimiter characters. It
// returns ErrUnknownUser (wrapped) for a local domain without that user.
func (dir *Directory) Resolve(ctx context.Context, addr, delims string) (Resolution, error) {
	local, domain, err := Split(addr)
	if err != nil {
		return Resolution{}, err
	}
	if f := dir.local.Load(); f != nil {
		if targets := (*f)(local, domain); len(targets) > 0 {
			// A local alias: its targets resolve as any address, but not
			// through local aliases again (the expansion is complete).
			r := Resolution{Class: Virtual}
			for _, t := range targets {
				sub, err := dir.resolve(ctx, t, delims)
				if err != nil {
					return r, fmt.Errorf("local alias %s: %s: %w", local, t, err)
				}
				r.Destinations = append(r.Destinations, sub.Destinations...)
			}
			return r, nil
		}
	}
	return dir.resolve(ctx, addr, delims)
}

// resolve is Resolve without local aliases.
func (dir *Directory) resolve(ctx context.Context, addr, delims string) (Resolution, error) {
	local, domain, err := Split(addr)
	if err != nil {
		return Resolution{}, err
	}
	ex := expander{dir: dir, delims: delims, seen: map[string]bool{}}
	class, err := ex.classify(ctx, domain)
	if err != nil {
		return Resolution{}, err
	}
	r := Resolution{Class: class}
	if class == Foreign {
		r.Destinations = []Destination{{Kind: Remote, Address: local + "@" + domain}}
		return r, nil
	}
	if err := ex.expand(ctx, local+"@"+domain, 0); err != nil {
		return r, err
	}
	r.Destinations = ex.out
	return r, nil
}

// Classify reports how domain is handled here. Inactive domains are Foreign.
func (dir *Directory) Classify(ctx context.Context, domain string) (DomainClass, error) {
	var bmx int
	err := dir.db.Read.QueryRowContext(ctx, `SELECT backupmx FROM domain WHERE domain=? AND active=1`, domain).Scan(&bmx)
	switch {
	case err == nil && bmx == 1:
		return BackupMX, nil
	case err == nil:
		return Virtual, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Foreign, fmt.Errorf("directory: domain lookup %s: %w", domain, err)
	}
	var target string
	err = dir.db.Read.QueryRowContext(ctx, `SELECT a.target_domain FROM alias_domain a JOIN domain d ON d.domain=a.target_domain
		WHERE a.alias_domain=? AND a.active=1 AND d.active=1`, domain).Scan(&target)
	switch {
	case err == nil:
		return AliasDomain, nil
	case errors.Is(err, sql.ErrNoRows):
		if f := dir.relay.Load(); f != nil && (*f)(domain) {
			return BackupMX, nil
		}
		return Foreign, nil
	default:
		return Foreign, fmt.Errorf("directory: alias domain lookup %s: %w", domain, err)
	}
}

type expander struct {
	dir     *Directory
	delims  string
	seen    map[string]bool
	out     []Destination
	classes map[string]DomainClass // domains already classified in this lookup
}

// classify is Classify, asked once per domain per lookup: the recipient's
// own domain is needed both to answer relay questions and to expand it.
func (ex *expander) classify(ctx context.Context, domain string) (DomainClass, error) {
	if c, ok := ex.classes[domain]; ok {
		return c, nil
	}
	c, err := ex.dir.Classify(ctx, domain)
	if err != nil {
		return c, err
	}
	if ex.classes == nil {
		ex.classes = map[string]DomainClass{}
	}
	ex.classes[domain] = c
	return c, nil
}

func (ex *expander) add(d Destination) error {
	key := fmt.Sprint(d.Kind) + d.Address
	if ex.seen["dest:"+key] {
		return nil // Postfix delivers one copy per final recipient
	}
	ex.seen["dest:"+key] = true
	if len(ex.out) >= maxExpansion {
		return fmt.Errorf("directory: alias expansion exceeds %d recipients", maxExpansion)
	}
	ex.out = append(ex.out, d)
	return nil
}

func (ex *expander) expand(ctx context.Context, addr string, depth int) error {
	if depth > maxAliasDepth {
		return fmt.Errorf("directory: alias loop or nesting deeper than %d at %s", maxAliasDepth, addr)
	}
	local, domain, err := Split(addr)
	if err != nil {
		return err
	}
	// Our own mailboxes and aliases are looked up unquoted ("alice" is
	// alice); anything that leaves keeps the local part as written.
	lower := strings.ToLower(Unquote(local))
	class, err := ex.classify(ctx, domain)
	if err != nil {
		return err
	}
	switch class {
	case Foreign:
		return ex.add(Destination{Kind: Remote, Address: local + "@" + domain})
	case BackupMX:
		return ex.add(Destination{Kind: Relay, Address: local + "@" + domain})
	case AliasDomain:
		// An explicit alias on the alias domain wins; else rewrite the domain.
		if targets, err := ex.dir.aliasTargets(ctx, lower+"@"+domain); err != nil || targets != nil {
			if err != nil {
				return err
			}
			return ex.expandTargets(ctx, lower+"@"+domain, local, targets, depth)
		}
		var target string
		if err := ex.dir.db.Read.QueryRowContext(ctx, `SELECT target_domain FROM alias_domain WHERE alias_domain=?`, domain).Scan(&target); err != nil {
			return fmt.Errorf("directory: alias domain %s: %w", domain, err)
		}
		return ex.expand(ctx, local+"@"+target, depth+1)
	}
	// A mailbox domain: exact alias, mailbox, then without extension, then catch-all.
	cands := []string{lower + "@" + domain}
	if base := StripExtension(lower, ex.delims); base != lower {
		cands = append(cands, base+"@"+domain)
	}
	for _, c := range cands {
		targets, err := ex.dir.aliasTargets(ctx, c)
		if err != nil {
			return err
		}
		if targets != nil {
			return ex.expandTargets(ctx, c, local, targets, depth)
		}
		m, err := ex.dir.Mailbox(ctx, c)
		if err == nil && m.Active {
			return ex.add(Destination{Kind: Local, Address: m.Username, Mailbox: m})
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	targets, err := ex.dir.aliasTargets(ctx, "@"+domain)
	if err != nil {
		return err
	}
	if targets != nil {
		return ex.expandTargets(ctx, "@"+domain, local, targets, depth)
	}
	return fmt.Errorf("<%s>: %w", addr, ErrUnknownUser)
}

// expandTargets follows an alias. A target equal to the alias itself is the
// mailbox of that name (postfixadmin keeps such self-aliases); "@domain"
// targets keep the local part.
func (ex *expander) expandTargets(ctx context.Context, from, local string, targets []string, depth int) error {
	if ex.seen["alias:"+from] {
		return nil
	}
	ex.seen["alias:"+from] = true
	for _, t := range targets {
		if strings.HasPrefix(t, "@") {
			t = local + t
		}
		if t == from {
			m, err := ex.dir.Mailbox(ctx, t)
			if err != nil || !m.Active {
				continue
			}
			if err := ex.add(Destination{Kind: Local, Address: m.Username, Mailbox: m}); err != nil {
				return err
			}
			continue
		}
		if err := ex.expand(ctx, t, depth+1); err != nil {
			if errors.Is(err, ErrUnknownUser) {
				continue // a dangling target does not reject the others
			}
			return err
		}
	}
	if len(ex.out) == 0 {
		return fmt.Errorf("<%s>: alias has no deliverable target: %w", from, ErrUnknownUser)
	}
	return nil
}
