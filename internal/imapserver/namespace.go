package imapserver

import (
	"errors"
	"fmt"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/directory"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// Namespaces (RFC 2342) as Dovecot's acl plugin with a shared and a
// public namespace shows them: the personal one ("" with "." as
// delimiter, the Maildir++ separator), "Other Users/<user>/<folder>" for
// the folders other users share with the session's user (Dovecot's
// `type = shared`, `prefix = Other Users/%u/`), and "Shared/<folder>"
// for the shared mailboxes of the user's domain (`type = public`). The
// two shared namespaces use "/" as delimiter: user names hold dots.
// Personal names cannot contain "/" (store.canonName), so a name is in
// a shared namespace exactly when it starts with one of the prefixes.
const (
	otherUsersRoot = "Other Users"
	sharedRoot     = "Shared"
	sharedDelim    = "/"
	otherPrefix    = otherUsersRoot + sharedDelim
	publicPrefix   = sharedRoot + sharedDelim
)

type nsKind int

const (
	nsPersonal nsKind = iota
	nsOther           // another user's folder
	nsPublic          // a shared mailbox of the domain
)

// place is a mailbox name resolved to the folder it names and the
// session user's rights on it.
type place struct {
	kind   nsKind
	owner  store.Account
	quota  int64  // the owner's quota in bytes, 0: none
	folder string // store name within the owner's tree
	rights acl.Rights
}

// delimiter is the hierarchy delimiter of the namespace of p.
func (p place) delimiter() string {
	if p.kind == nsPersonal {
		return store.Delimiter
	}
	return sharedDelim
}

// errNoMailbox is a name that names no folder the user may know of.
var errNoMailbox = fmt.Errorf("imap: %w", store.ErrNoFolder)

// personal is the place of one of the user's own folders.
func (s *session) personal(folder string) place {
	return place{kind: nsPersonal, owner: s.acct, quota: s.mb.Quota, folder: folder, rights: acl.All}
}

// userDomain is the domain of the session's user.
func (s *session) userDomain() string {
	return domainOf(s.mb.Username)
}

func domainOf(user string) string {
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		return user[i+1:]
	}
	return ""
}

// splitShared turns a name in a shared namespace into its kind, the
// owner's name (for Other Users) and the folder path with "/" (store
// form, not yet a store folder name). ok is false for a personal name.
func splitShared(name string) (kind nsKind, user, path string, ok bool) {
	switch {
	case strings.HasPrefix(name, otherPrefix):
		rest := name[len(otherPrefix):]
		user, path, _ = strings.Cut(rest, sharedDelim)
		return nsOther, user, path, true
	case strings.HasPrefix(name, publicPrefix):
		return nsPublic, "", name[len(publicPrefix):], true
	}
	return nsPersonal, "", "", false
}

// folderOf turns a path of a shared namespace ("Work/2024") into the
// store name of the folder ("Work.2024"); a path with the personal
// delimiter in a level cannot name a folder.
func folderOf(path string) (string, bool) {
	if path == "" || strings.Contains(path, store.Delimiter) || strings.HasPrefix(path, sharedDelim) ||
		strings.HasSuffix(path, sharedDelim) || strings.Contains(path, sharedDelim+sharedDelim) {
		return "", false
	}
	return strings.ReplaceAll(path, sharedDelim, store.Delimiter), true
}

// pathOf is folderOf reversed.
func pathOf(folder string) string { return strings.ReplaceAll(folder, store.Delimiter, sharedDelim) }

// nameOf is the store-form IMAP name of a place.
func (s *session) nameOf(p place) string {
	switch p.kind {
	case nsOther:
		return otherPrefix + imapwire.EncodeMailboxName(p.owner.Username) + sharedDelim + pathOf(p.folder)
	case nsPublic:
		return publicPrefix + pathOf(p.folder)
	}
	return p.folder
}

// locate resolves a store-form mailbox name. For the other namespaces
// it reads the owner and the folder's ACL; a folder the user has no
// right on at all is errNoMailbox, as if it did not exist (RFC 4314 6).
// withRights false skips the existence and rights check (CREATE).
func (s *session) locate(name string, withRights bool) (place, error) {
	kind, user, path, ok := splitShared(name)
	if !ok {
		return s.personal(name), nil
	}
	folder, ok := folderOf(path)
	if !ok {
		return place{}, errNoMailbox
	}
	p := place{kind: kind, folder: folder}
	switch kind {
	case nsOther:
		u, err := imapwire.DecodeMailboxName(user)
		if err != nil {
			return place{}, errNoMailbox
		}
		if p.owner, p.quota, err = s.otherOwner(u); err != nil {
			return place{}, err
		}
	case nsPublic:
		if strings.EqualFold(strings.SplitN(folder, store.Delimiter, 2)[0], "INBOX") {
			return place{}, errNoMailbox // the pseudo-owner's hidden INBOX
		}
		p.owner = store.SharedAccount(s.userDomain())
	}
	// The user's \Seen in a folder it does not own is its own
	// (store/pvtflags.go).
	p.owner.Viewer = s.mb.Username
	if !withRights {
		return p, nil
	}
	entries, err := s.srv.o.Store.ACL(s.ctx, p.owner, folder)
	if err != nil {
		return place{}, err
	}
	p.rights = acl.Effective(entries, s.mb.Username, kind == nsPublic || domainOf(p.owner.Username) == s.userDomain())
	if p.rights&^acl.Post == 0 {
		return place{}, errNoMailbox
	}
	return p, nil
}

// otherOwner looks up the owner of an Other Users folder: an active
// mailbox other than the user's own.
func (s *session) otherOwner(user string) (store.Account, int64, error) {
	dir := s.srv.o.Directory
	if dir == nil {
		return store.Account{}, 0, errNoMailbox
	}
	mb, err := dir.Mailbox(s.ctx, user)
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrBadAddress) ||
		err == nil && (!mb.Active || mb.Username == s.mb.Username) {
		return store.Account{}, 0, errNoMailbox
	}
	if err != nil {
		return store.Account{}, 0, fmt.Errorf("imap: owner %s: %w", user, err)
	}
	return store.Account{Username: mb.Username, Maildir: mb.Maildir}, mb.Quota, nil
}

// denied answers a command the user's rights on p do not allow: NO
// [NOPERM] when the user may list the mailbox ("l"), as a missing
// mailbox otherwise (RFC 4314 6: existence is not given away; Dovecot
// answers the same).
func denied(p place) result {
	if !p.rights.Has(acl.Lookup) {
		return fail("NONEXISTENT", "Mailbox doesn't exist.")
	}
	return fail("NOPERM", "Permission denied.")
}

// target resolves a command's mailbox argument and checks that the user
// holds every right of want on it.
func (s *session) target(op, wire string, want acl.Rights) (place, result, bool) {
	name, ok := s.storeName(wire)
	if !ok {
		return place{}, badName(), false
	}
	p, err := s.locate(name, true)
	if err != nil {
		return place{}, s.storeFail(op, err, false), false
	}
	if !p.rights.Has(want) {
		return place{}, denied(p), false
	}
	return p, result{}, true
}

// reserved reports whether a personal name would hide a shared
// namespace's root: such folders cannot be created.
func reserved(name string) bool {
	return name == otherUsersRoot || name == sharedRoot
}
