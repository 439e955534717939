// Package testutil holds fixtures the tests of several packages share
// (smtpserver, pop3server, imapserver, auth/login): self-signed TLS
// certificates, a log buffer safe for concurrent writes, and a fake user
// directory. Only tests import it.
package testutil
