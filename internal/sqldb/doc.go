// Package sqldb opens Mailwarden's SQL database (embedded SQLite by default)
// and applies the schema migrations embedded in the binary. It owns the
// connection settings (WAL, busy timeout, one writer) and the schema, not the
// queries: directory, store and queue write their own portable SQL.
package sqldb
