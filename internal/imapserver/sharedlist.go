package imapserver

import (
	"errors"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/store"
)

// mayMatchShared reports whether a LIST pattern can match a name in a
// shared namespace, so that LIST of personal names only reads nothing
// more.
func mayMatchShared(pattern string) bool {
	lit := pattern
	if i := strings.IndexAny(pattern, "*%"); i >= 0 {
		lit = pattern[:i]
	}
	for _, root := range []string{otherUsersRoot, sharedRoot} {
		if strings.HasPrefix(root+sharedDelim, lit) || strings.HasPrefix(lit, root) {
			return true
		}
	}
	return false
}

// sharedNodes builds the LIST hierarchy of the shared namespaces: the
// folders of other users and the shared mailboxes of the user's domain
// on which the user has the "l" right (RFC 4314 4: LIST shows only
// those), their implied parents ("Other Users", "Other Users/<user>",
// "Shared") and the user's subscriptions in those namespaces (subs).
func (s *session) sharedNodes(subs []string) ([]*node, error) {
	var infos []store.FolderInfo
	rights := map[string]acl.Rights{}
	me, dom := s.mb.Username, s.userDomain()

	shared, err := s.srv.o.Store.SharedWith(s.ctx, me)
	if err != nil {
		return nil, err
	}
	var owners []string
	visible := map[string]map[string]acl.Rights{}
	for _, f := range shared {
		r := acl.Effective(f.Entries, me, domainOf(f.Owner) == dom)
		if !r.Has(acl.Lookup) {
			continue
		}
		if visible[f.Owner] == nil {
			visible[f.Owner] = map[string]acl.Rights{}
			owners = append(owners, f.Owner)
		}
		visible[f.Owner][f.Folder] = r
	}
	for _, o := range owners {
		acct, _, err := s.otherOwner(o)
		if errors.Is(err, errNoMailbox) {
			continue // an inactive owner shares nothing
		}
		if err != nil {
			return nil, err
		}
		if infos, err = s.ownerFolders(acct, nsOther, visible[o], infos, rights); err != nil {
			return nil, err
		}
	}

	pub := store.SharedAccount(dom)
	acls, err := s.srv.o.Store.OwnerACLs(s.ctx, pub)
	if err != nil {
		return nil, err
	}
	vis := map[string]acl.Rights{}
	for folder, es := range acls {
		if r := acl.Effective(es, me, true); r.Has(acl.Lookup) && folder != "INBOX" {
			vis[folder] = r
		}
	}
	if len(vis) > 0 {
		if infos, err = s.ownerFolders(pub, nsPublic, vis, infos, rights); err != nil {
			return nil, err
		}
	}
	return hierarchy(infos, subs, sharedDelim, rights), nil
}

// ownerFolders appends the state of the folders of owner that are in
// visible, under their names in the namespace kind, and their rights.
func (s *session) ownerFolders(owner store.Account, kind nsKind, visible map[string]acl.Rights, infos []store.FolderInfo, rights map[string]acl.Rights) ([]store.FolderInfo, error) {
	owner.Viewer = s.mb.Username // its own \Seen (LIST-STATUS UNSEEN)
	fs, err := s.srv.o.Store.ListFolders(s.ctx, owner)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		r, ok := visible[f.Name]
		if !ok {
			continue
		}
		f.Name = s.nameOf(place{kind: kind, owner: owner, folder: f.Name})
		// The owner's subscription and special use are the owner's: a
		// shared Sent folder must not become the user's.
		f.Subscribed, f.SpecialUse = false, ""
		infos = append(infos, f)
		rights[f.Name] = r
	}
	return infos, nil
}
