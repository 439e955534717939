package imapserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/imapurl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// URLAUTH (RFC 4467) with the INTERNAL mechanism: a user signs an IMAP
// URL to one of its messages (GENURLAUTH) and whoever the URL's access
// identifier admits reads it with URLFETCH, or uses it in CATENATE,
// without any ACL right. The token is HMAC-SHA256 of the rump URL under
// the folder's mailbox access key (store.URLAuthKey); RESETKEY drops
// the key, voiding the URLs made with it.

// urlAuthMech is the one mechanism offered (RFC 4467 7).
const urlAuthMech = "INTERNAL"

// urlToken signs a rump URL (RFC 4467 7: at least 128 bits, in hex).
func urlToken(key []byte, rump string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}

// cmdGenURLAuth serves GENURLAUTH (RFC 4467 6.1): each rump URL must
// name a message of the user's own mailbox on this server, by the
// user's name; all are signed or the command fails.
func (s *session) cmdGenURLAuth(c *imapwire.Command) result {
	a := c.Args.(*imapwire.GenURLAuthArgs)
	var full []string
	for _, it := range a.Items {
		badURL := fail("BADURL "+imapurl.RespText(it.URL), "Cannot make a URLAUTH URL of that.")
		if it.Mechanism != urlAuthMech {
			return fail("BADURL "+imapurl.RespText(it.URL), "Unknown authorization mechanism "+it.Mechanism+".")
		}
		u, err := imapurl.Parse(it.URL)
		if err != nil {
			return badURL
		}
		auth, ok := imapurl.ParseAuthorization(it.URL, u)
		if !ok || auth.Token != "" || !u.Server || !strings.EqualFold(u.User, s.mb.Username) || !s.ourHost(u.Host) || u.UID == 0 {
			return badURL
		}
		if _, _, err := u.Expires(); err != nil {
			return badURL
		}
		p := s.personal(urlMailbox(u))
		fi, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder)
		if errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) ||
			err == nil && u.UIDValidity != 0 && int64(u.UIDValidity) != fi.UIDValidity {
			return badURL
		}
		if err != nil {
			return s.storeFail("GENURLAUTH", err, false)
		}
		key, err := s.srv.o.Store.URLAuthKey(s.ctx, p.owner, p.folder, true)
		if err != nil {
			return s.storeFail("GENURLAUTH", err, false)
		}
		full = append(full, auth.Rump+":internal:"+urlToken(key, auth.Rump))
	}
	w := s.w.Untagged().Atom("GENURLAUTH")
	for _, f := range full {
		w.AString(f)
	}
	w.End()
	return done("Genurlauth completed.")
}

// cmdURLFetch serves URLFETCH (RFC 4467 6.3): one "* URLFETCH url data"
// per URL, NIL for one that is invalid, expired, not for this user or
// names nothing (which of these is not told).
func (s *session) cmdURLFetch(c *imapwire.Command) result {
	a := c.Args.(*imapwire.URLFetchArgs)
	for _, raw := range a.URLs {
		w := s.w.Untagged().Atom("URLFETCH").AString(raw)
		src, err := s.authorizedSource(raw)
		if err != nil {
			if !errors.Is(err, errBadURL) {
				s.logError("URLFETCH", err)
			}
			w.NIL().End()
			continue
		}
		data, size, err := src.data(nil)
		if err != nil {
			if !errors.Is(err, errBadURL) {
				s.logError("URLFETCH", err)
			}
			w.NIL().End()
		} else {
			w.LiteralFrom(data, size, false).End()
		}
		src.f.Close()
	}
	return done("Urlfetch completed.")
}

// authorizedSource opens what a URLAUTH URL names, once authorized.
func (s *session) authorizedSource(raw string) (*urlSource, error) {
	u, err := imapurl.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadURL, err)
	}
	owner, folder, err := s.authorizeURL(raw, u)
	if err != nil {
		return nil, err
	}
	return s.openURL(u, owner, folder)
}

// authorizeURL checks a URLAUTH-authorized URL (RFC 4467 5): absolute,
// of a user of this server, not expired, its access identifier admitting
// the session's user, its token the one the owner's mailbox access key
// gives. It returns the owner and the folder. Errors about the URL wrap
// errBadURL.
func (s *session) authorizeURL(raw string, u *imapurl.URL) (store.Account, string, error) {
	var none store.Account
	auth, ok := imapurl.ParseAuthorization(raw, u)
	if !ok || auth.Token == "" || auth.Mechanism != urlAuthMech || !u.Server || u.User == "" || !s.ourHost(u.Host) || u.UID == 0 {
		return none, "", fmt.Errorf("%w: not a URLAUTH URL of this server", errBadURL)
	}
	if t, ok, err := u.Expires(); err != nil || ok && !time.Now().Before(t) {
		return none, "", fmt.Errorf("%w: expired", errBadURL)
	}
	switch auth.Access {
	case "anonymous", "authuser": // every session here is authenticated
	default:
		// "user+name" admits that user; "submit+name" a submission
		// server acting for that user, which nothing here is.
		if !strings.HasPrefix(auth.Access, "user+") || !strings.EqualFold(auth.User, s.mb.Username) {
			return none, "", fmt.Errorf("%w: access %s", errBadURL, auth.Access)
		}
	}
	owner := s.acct
	if !strings.EqualFold(u.User, s.mb.Username) {
		var err error
		if owner, _, err = s.otherOwner(u.User); errors.Is(err, errNoMailbox) {
			return none, "", fmt.Errorf("%w: no user %s", errBadURL, u.User)
		} else if err != nil {
			return none, "", err
		}
	}
	folder := urlMailbox(u)
	key, err := s.srv.o.Store.URLAuthKey(s.ctx, owner, folder, false)
	if errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) || err == nil && key == nil {
		return none, "", fmt.Errorf("%w: no key", errBadURL)
	}
	if err != nil {
		return none, "", err
	}
	if !hmac.Equal([]byte(urlToken(key, auth.Rump)), []byte(auth.Token)) {
		return none, "", fmt.Errorf("%w: wrong token", errBadURL)
	}
	return owner, folder, nil
}

// cmdResetKey serves RESETKEY (RFC 4467 6.2): with no argument every
// mailbox access key of the user goes, else the one of the mailbox.
func (s *session) cmdResetKey(c *imapwire.Command) result {
	a := c.Args.(*imapwire.ResetKeyArgs)
	for _, m := range a.Mechanisms {
		if m != urlAuthMech {
			return fail("", "Unknown authorization mechanism "+m+".")
		}
	}
	folder := ""
	if a.HasMailbox {
		name, ok := s.storeName(a.Mailbox)
		if !ok {
			return badName()
		}
		if _, _, _, shared := splitShared(name); shared {
			return fail("NONEXISTENT", "Mailbox doesn't exist.")
		}
		folder = name
	}
	if err := s.srv.o.Store.ResetURLAuthKeys(s.ctx, s.acct, folder); err != nil {
		return s.storeFail("RESETKEY", err, false)
	}
	return done("Resetkey completed.")
}
