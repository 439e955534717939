// Package sessions is the registry of this process's logged-in IMAP and
// POP3 sessions, for `mailwarden who` (doveadm who) and `mailwarden kick`
// (doveadm kick). A session registers when its login succeeds and
// unregisters when it ends; a kick asks each matching session to end
// cleanly (the session says goodbye in its own protocol) and waits for it.
//
// The registry is process memory on purpose: a session is a TCP
// connection of this process, and only this process can close it. With
// several nodes, ask each. Registering costs one map insert at login and
// one delete at logout, nothing per command. It knows nothing of IMAP or
// POP3: the servers hand in what to show and how to end a session.
package sessions
