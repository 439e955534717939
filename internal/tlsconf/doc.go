// Package tlsconf builds the server's tls.Config from [tls] cert_file and
// key_file, or from a self-signed certificate it generates into data_dir on
// first start. Certificates are re-read on Reload (SIGHUP).
package tlsconf
