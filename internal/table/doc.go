// Package table implements Postfix lookup tables behind one interface,
// Table, read straight from their text sources: there is no postmap step
// and no .db file. Open parses Postfix's "type:name" syntax for hash:,
// btree:, lmdb:, cdb:, texthash: (all postmap(1) text format), regexp:
// (regexp_table(5)), pcre: (pcre_table(5): Go's RE2 where the pattern
// allows, else a backtracking engine with a time limit per match), cidr:
// (cidr_table(5)), inline:, static:, and sqlite:, pgsql: and mysql:
// (Postfix's *_table(5) config files; a query per lookup, keys escaped as
// Postfix's client libraries do). File tables notice when their file
// changes (inode, size or modification time, checked at most once per
// interval) and re-read it; a file that no longer parses keeps the last
// good content and is reported through Options.Logf.
//
// AddressKeys, IPKeys and HostKeys give the access(5) search order for the
// restriction checks that consult such tables.
package table
