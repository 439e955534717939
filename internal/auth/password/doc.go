// Package password owns stored password hashes: it hashes new passwords
// (argon2id, in Dovecot's "{ARGON2ID}$argon2id$..." form so Dovecot can read
// them too) and verifies the stored forms that users imported from
// postfixadmin or Dovecot bring along: Dovecot's "{SCHEME}" prefixed hashes
// (crypt(3) strings, salted and plain SHA/MD5 digests, CRAM-MD5 contexts,
// SCRAM-SHA-1/SHA-256 keys, plaintext) and bare self-describing crypt
// strings ("$6$...", "$2y$..."). For the challenge-response SASL mechanisms
// it derives SCRAM-SHA-256 keys (RFC 5802, RFC 7677) and answers CRAM-MD5
// challenges (RFC 2195) from the stored forms that allow it.
//
// It knows nothing about users or storage; callers fetch the stored string,
// call Verify, and after a successful login replace the stored string with
// Hash(plain) when NeedsRehash says so.
package password
