package password

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/bcrypt"
)

// verifyBcrypt checks a "$2a$", "$2b$" or "$2y$" bcrypt string. The three
// differ only in how old C implementations handled edge cases that do not
// arise here (8-bit bugs of $2x$, length wrap at 256 bytes), so all are
// verified as $2a$. Like every C bcrypt, only the first 72 bytes of the
// password count.
func verifyBcrypt(p parsed, plain string) (bool, error) {
	s := p.body
	if len(s) != 60 || s[3] != '$' || s[6] != '$' || !isCryptB64(s[7:]) {
		return false, malformed(p, "want $2y$NN$ followed by 53 characters")
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < bcrypt.MinCost {
		return false, malformed(p, "bad cost %q", s[4:6])
	}
	if cost > limits.bcryptCost {
		return false, malformed(p, "cost %d exceeds limit %d", cost, limits.bcryptCost)
	}
	pw := []byte(plain)
	if len(pw) > 72 {
		pw = pw[:72]
	}
	err = bcrypt.CompareHashAndPassword([]byte("$2a$"+s[4:]), pw)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, malformed(p, "%v", err)
}

// SHA-crypt ($5$, $6$) per Ulrich Drepper's "Unix crypt using SHA-256 and
// SHA-512": optional "rounds=N$" (1000..999999999, default 5000), a salt of
// at most 16 characters, then the hash in crypt's base64 alphabet.
func verifySHACrypt(p parsed, plain string) (bool, error) {
	id, keyLen := "6", 86
	if p.name == "SHA256-CRYPT" {
		id, keyLen = "5", 43
	}
	rest := strings.TrimPrefix(p.body, "$"+id+"$")
	rounds := 5000
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, ok := strings.Cut(r, "$")
		n, err := strconv.Atoi(num)
		// A non-canonical number (leading zeros, sign) or one outside the
		// range would come back different from crypt(3), so it never
		// verifies there; treat it as malformed here too.
		if !ok || err != nil || strconv.Itoa(n) != num || n < 1000 || n > 999999999 {
			return false, malformed(p, "bad rounds= value")
		}
		if n > limits.shaCryptRounds {
			return false, malformed(p, "rounds=%d exceeds limit %d", n, limits.shaCryptRounds)
		}
		rounds, rest = n, after
	}
	salt, key, ok := strings.Cut(rest, "$")
	if !ok || len(salt) > 16 || len(key) != keyLen || !isCryptB64(key) {
		return false, malformed(p, "want $%s$[rounds=N$]<salt up to 16>$<%d-character hash>", id, keyLen)
	}
	d, err := shacrypt.Decode(fmt.Sprintf("$%s$rounds=%d$%s$%s", id, rounds, salt, key))
	if err != nil {
		return false, malformed(p, "%v", err)
	}
	match, err := d.MatchAdvanced(plain)
	if err != nil {
		return false, malformed(p, "%v", err)
	}
	return match, nil
}

// verifyMD5Crypt checks Poul-Henning Kamp's "$1$<salt up to 8>$<22 chars>".
func verifyMD5Crypt(p parsed, plain string) (bool, error) {
	rest := strings.TrimPrefix(p.body, "$1$")
	salt, key, ok := strings.Cut(rest, "$")
	if !ok || len(salt) > 8 || len(key) != 22 || !isCryptB64(key) {
		return false, malformed(p, "want $1$<salt up to 8>$<22-character hash>")
	}
	d, err := md5crypt.Decode("$1$" + salt + "$" + key)
	if err != nil {
		return false, malformed(p, "%v", err)
	}
	match, err := d.MatchAdvanced(plain)
	if err != nil {
		return false, malformed(p, "%v", err)
	}
	return match, nil
}

// isCryptB64 reports whether s uses only crypt(3)'s base64 alphabet
// "./0-9A-Za-z".
func isCryptB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
