package config

import "strings"

// Local holds the aliases of the local names (Postfix's alias_maps):
// mail to root, postmaster, abuse, MAILER-DAEMON ... at hostname or
// localhost, and to the bare names sendmail qualifies with hostname
// (cron mails "root"), goes to the addresses they name.
type Local struct {
	// Aliases maps a name to its targets, "a@example.com, b@example.com"
	// or other names, as an /etc/aliases line; they win over AliasFile.
	Aliases map[string]string `toml:"aliases"`
	// AliasFile is an aliases(5) file read at start and at reload when
	// it exists (commands, files and :include: in it are skipped with a
	// warning); empty: none.
	AliasFile string `toml:"alias_file"`
}

// validateLocal checks the alias names and targets.
func (c *Config) validateLocal(bad func(key, format string, a ...any)) {
	for name, v := range c.Local.Aliases {
		if name == "" || strings.ContainsAny(name, " \t@:,") {
			bad("local.aliases", "%q is not a local name such as \"root\"", name)
		}
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || strings.ContainsAny(t, " \t<>|/") {
				bad("local.aliases", "%s: %q is not an address or a local name", name, t)
			}
		}
	}
}
