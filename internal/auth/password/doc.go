// Package password owns stored password hashes: it hashes new passwords
// (argon2id, in Dovecot's "{ARGON2ID}$argon2id$..." form so Dovecot can read
// them too) and verifies the stored forms that users imported from
// postfixadmin or Dovecot bring along: Dovecot's "{SCHEME}" prefixed hashes
// (crypt(3) strings, salted and plain SHA/MD5 digests, CRAM-MD5 contexts,
// plaintext) and bare self-describing crypt strings ("$6$...", "$2y$...").
//
// It knows nothing about users or storage; callers fetch the stored string,
// call Verify, and after a successful login replace the stored string with
// Hash(plain) when NeedsRehash says so.
package password
