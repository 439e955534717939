// Package directory answers "who exists": domains, alias domains, mailboxes
// and aliases, stored in tables shaped like postfixadmin's, and how a
// recipient address resolves (Postfix virtual_mailbox_domains,
// virtual_mailbox_maps and virtual_alias_maps in one lookup). It does not
// deliver or store mail.
package directory
