package mech

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"mailwarden/internal/auth/password"
)

// cramServer is CRAM-MD5 (RFC 2195): the server sends
// "<random.unixtime@hostname>", the client answers "user SP
// hex(HMAC-MD5(password, challenge))". Only a stored {CRAM-MD5} context
// or {PLAIN} password can check that; other users fail like a wrong
// password, with the reason in the log.
type cramServer struct {
	o  Options
	ex exchange
	outcome
	challenge []byte
	step      int
	now       func() time.Time // tests fix it
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	switch c.step {
	case 0:
		c.step = 1
		if len(resp) > 0 { // the server speaks first (RFC 2195 2)
			c.step = 2
			return nil, false, malformed("CRAM-MD5 takes no initial response")
		}
		c.challenge = c.newChallenge()
		return c.challenge, false, nil
	case 1:
		c.step = 2
		return c.verify(resp)
	}
	return nil, false, ErrUnexpected
}

func (c *cramServer) newChallenge() []byte {
	var r [8]byte
	rand.Read(r[:])
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	host := c.o.Hostname
	if host == "" {
		host = "localhost"
	}
	return []byte("<" + strconv.FormatUint(binary.BigEndian.Uint64(r[:])>>1, 10) + "." +
		strconv.FormatInt(now().Unix(), 10) + "@" + host + ">")
}

// verify checks "user SP digest" (the user name may contain spaces).
func (c *cramServer) verify(resp []byte) ([]byte, bool, error) {
	i := bytes.LastIndexByte(resp, ' ')
	if i <= 0 || len(resp) > maxResponse {
		return nil, false, malformed("CRAM-MD5 response is not \"user digest\"")
	}
	got, err := hex.DecodeString(string(resp[i+1:]))
	if err != nil || len(got) != md5.Size {
		return nil, false, malformed("CRAM-MD5 digest is not 32 hex digits")
	}
	c.user = string(resp[:i])
	ctx, cancel := c.o.op()
	defer cancel()
	stored, err := c.ex.Lookup(ctx, c.user)
	if err != nil {
		return nil, false, err
	}
	want, err := password.CRAMMD5(stored, c.challenge)
	if err != nil {
		// Unknown users (stored is "") and unusable hashes cost an HMAC
		// too, so they take as long as a wrong password.
		var key [md5.BlockSize]byte
		m := hmac.New(md5.New, key[:])
		m.Write(c.challenge)
		m.Sum(nil)
		reason := "stored password hash unusable: " + err.Error()
		if errors.Is(err, password.ErrNoCRAMMD5) {
			reason = "stored password scheme " + password.Scheme(stored) + " cannot do CRAM-MD5"
		}
		return nil, false, c.ex.Fail(ctx, reason)
	}
	if subtle.ConstantTimeCompare(want, got) != 1 {
		return nil, false, c.ex.Fail(ctx, "password mismatch")
	}
	mb, err := c.ex.Succeed(ctx)
	if err != nil {
		return nil, false, err
	}
	c.mb = mb
	return nil, true, nil
}
