package arc

import "mailwarden/internal/msgauth/dkimcore"

// Canonicalization algorithms (RFC 6376 3.4), as DKIM names them.
const (
	Simple  = dkimcore.Simple
	Relaxed = dkimcore.Relaxed
)

// TXTLookup fetches the TXT records at name, each as one string; it
// returns errors wrapping dnsx.ErrNotFound or dnsx.ErrTemporary.
type TXTLookup = dkimcore.TXTLookup

// MaxHeader bounds the header section read into memory; a message with
// a longer header cannot be verified or sealed.
const MaxHeader = dkimcore.MaxHeader

// ErrHeaderTooLarge is returned for a header longer than MaxHeader.
var ErrHeaderTooLarge = dkimcore.ErrHeaderTooLarge
