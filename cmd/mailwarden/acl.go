package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// aclOwner resolves the OWNER argument of acl and shared: a user's
// address, or "@DOMAIN" for the domain's shared mailboxes.
func (e *env) aclOwner(ctx context.Context, owner string) (store.Account, error) {
	if d, ok := strings.CutPrefix(owner, "@"); ok {
		if err := e.hasDomain(ctx, d); err != nil {
			return store.Account{}, err
		}
		return store.SharedAccount(d), nil
	}
	m, err := e.dir.Mailbox(ctx, owner)
	if err != nil {
		return store.Account{}, err
	}
	return store.Account{Username: m.Username, Maildir: m.Maildir}, nil
}

// hasDomain fails unless d is a domain with mailboxes here.
func (e *env) hasDomain(ctx context.Context, d string) error {
	ds, err := e.dir.ListDomains(ctx)
	if err != nil {
		return err
	}
	for _, x := range ds {
		if strings.EqualFold(x.Name, d) && x.AliasOf == "" && !x.BackupMX {
			return nil
		}
	}
	return fmt.Errorf("%s is not a domain with mailboxes here (add it with: mailwarden domain add %s)", d, d)
}

// folderArg turns a folder as a person writes it into the store's name:
// UTF-8 to modified UTF-7; for shared mailboxes "Shared/support/2024"
// and "support/2024" both name "support.2024".
func folderArg(a store.Account, folder string) string {
	if _, ok := store.SharedDomain(a.Username); ok {
		folder = strings.ReplaceAll(strings.TrimPrefix(folder, "Shared/"), "/", store.Delimiter)
	}
	if strings.EqualFold(folder, "INBOX") {
		return "INBOX"
	}
	return imapwire.EncodeMailboxName(folder)
}

// folderShown is a store name as a person reads it.
func folderShown(a store.Account, name string) string {
	if d, err := imapwire.DecodeMailboxName(name); err == nil {
		name = d
	}
	if _, ok := store.SharedDomain(a.Username); ok {
		return "Shared/" + strings.ReplaceAll(name, store.Delimiter, "/")
	}
	return name
}

func (c *cli) aclCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: acl set|delete|list|import", errUsage)
	}
	ctx := context.Background()
	pos := c.positionalDashes(args[1:])
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "set":
		if err := need(pos, 4, "acl set OWNER FOLDER IDENTIFIER RIGHTS"); err != nil {
			return err
		}
		a, err := e.aclOwner(ctx, pos[0])
		if err != nil {
			return err
		}
		id, err := aclIdentifier(a, pos[2])
		if err != nil {
			return err
		}
		mode, r, err := acl.ParseModify(pos[3])
		if err != nil {
			return fmt.Errorf("%w (rights are letters of lrswipkxtea; +RIGHTS adds, -RIGHTS removes)", err)
		}
		now, err := e.store.SetACL(ctx, a, folderArg(a, pos[1]), id, mode, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s on %s of %s: %s\n", id, folderShown(a, folderArg(a, pos[1])), a.Username, rightsShown(now))
		return nil
	case "delete", "del", "rm":
		if err := need(pos, 3, "acl delete OWNER FOLDER IDENTIFIER"); err != nil {
			return err
		}
		a, err := e.aclOwner(ctx, pos[0])
		if err != nil {
			return err
		}
		id, err := aclIdentifier(a, pos[2])
		if err != nil {
			return err
		}
		return e.store.DeleteACL(ctx, a, folderArg(a, pos[1]), id)
	case "import":
		if err := need(pos, 2, "acl import OWNER DIR"); err != nil {
			return err
		}
		a, err := e.aclOwner(ctx, pos[0])
		if err != nil {
			return err
		}
		st, err := e.store.ImportACL(ctx, a, pos[1])
		if err != nil {
			return err
		}
		for _, sk := range st.Skipped {
			fmt.Fprintf(c.stdout, "skipped %s\n", sk)
		}
		fmt.Fprintf(c.stdout, "imported %d entries on %d folders of %s\n", st.Entries, st.Folders, a.Username)
		return nil
	case "list":
		if len(pos) != 1 && len(pos) != 2 {
			return fmt.Errorf("%w: want acl list OWNER [FOLDER]", errUsage)
		}
		a, err := e.aclOwner(ctx, pos[0])
		if err != nil {
			return err
		}
		tw := c.table("FOLDER", "IDENTIFIER", "RIGHTS")
		if _, shared := store.SharedDomain(a.Username); !shared {
			defer fmt.Fprintf(c.stdout, "(%s, the owner, has every right on its folders)\n", a.Username)
		}
		if len(pos) == 2 {
			folder := folderArg(a, pos[1])
			es, err := e.store.ACL(ctx, a, folder)
			if err != nil {
				return err
			}
			for _, en := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", folderShown(a, folder), en.Identifier, en.Rights.Stored())
			}
			return tw.Flush()
		}
		all, err := e.store.OwnerACLs(ctx, a)
		if err != nil {
			return err
		}
		fs, err := e.store.ListFolders(ctx, a)
		if err != nil {
			return err
		}
		for _, f := range fs {
			for _, en := range all[f.Name] {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", folderShown(a, f.Name), en.Identifier, en.Rights.Stored())
			}
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w: acl set|delete|list|import", errUsage)
}

// positionalDashes returns the arguments of acl but -config (which it
// takes), so that "-r" (remove rights) and "-bob@example.org" (negative
// rights) stay arguments.
func (c *cli) positionalDashes(args []string) []string {
	var rest []string
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case !strings.HasPrefix(args[i], "-") || name != "config":
			if args[i] != "--" {
				rest = append(rest, args[i])
			}
		case hasVal:
			c.cfgPath = val
		case i+1 < len(args):
			c.cfgPath = args[i+1]
			i++
		}
	}
	return rest
}

// aclIdentifier checks an identifier; the owner's rights are fixed.
func aclIdentifier(a store.Account, id string) (string, error) {
	name, _, err := acl.Identifier(id)
	if err != nil {
		return "", fmt.Errorf("%w (an identifier is a user's address, anyone or authenticated; -IDENTIFIER for negative rights)", err)
	}
	if name == a.Username || name == "-"+a.Username {
		return "", errors.New("the owner of a folder always has every right")
	}
	return name, nil
}

func rightsShown(r acl.Rights) string {
	if r == 0 {
		return "no rights (entry removed)"
	}
	return r.Stored()
}

func (c *cli) sharedCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: shared create|list|delete", errUsage)
	}
	fs := flag.NewFlagSet("shared", flag.ContinueOnError)
	anyone := fs.String("anyone", "", "rights of every user of the domain on the new mailbox (e.g. lrs)")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "create", "add":
		if err := need(pos, 2, "shared create DOMAIN NAME"); err != nil {
			return err
		}
		var r acl.Rights
		if *anyone != "" {
			if r, err = acl.Parse(*anyone); err != nil {
				return err
			}
		}
		a, err := e.aclOwner(ctx, "@"+pos[0])
		if err != nil {
			return err
		}
		name := folderArg(a, pos[1])
		if strings.EqualFold(strings.SplitN(name, store.Delimiter, 2)[0], "INBOX") {
			return fmt.Errorf("%q is reserved", pos[1])
		}
		if err := e.store.CreateFolder(ctx, a, name, ""); err != nil {
			return err
		}
		if r != 0 {
			if _, err := e.store.SetACL(ctx, a, name, acl.Anyone, acl.Replace, r); err != nil {
				return err
			}
		}
		fmt.Fprintf(c.stdout, "created %s for %s; give users rights with: mailwarden acl set @%s %s USER RIGHTS\n",
			folderShown(a, name), strings.ToLower(pos[0]), strings.ToLower(pos[0]), folderShown(a, name))
		return nil
	case "list":
		if err := need(pos, 1, "shared list DOMAIN"); err != nil {
			return err
		}
		a, err := e.aclOwner(ctx, "@"+pos[0])
		if err != nil {
			return err
		}
		fs, err := e.store.ListFolders(ctx, a)
		if err != nil {
			return err
		}
		tw := c.table("MAILBOX", "MESSAGES", "SIZE")
		for _, f := range fs {
			if f.Name != "INBOX" {
				fmt.Fprintf(tw, "%s\t%d\t%d\n", folderShown(a, f.Name), f.Messages, f.Size)
			}
		}
		return tw.Flush()
	case "delete", "del", "rm":
		if err := need(pos, 2, "shared delete DOMAIN NAME"); err != nil {
			return err
		}
		a, err := e.aclOwner(ctx, "@"+pos[0])
		if err != nil {
			return err
		}
		name := folderArg(a, pos[1])
		if name == "INBOX" {
			return fmt.Errorf("%w", store.ErrCannotDelete)
		}
		return e.store.DeleteFolder(ctx, a, name)
	}
	return fmt.Errorf("%w: shared create|list|delete", errUsage)
}
