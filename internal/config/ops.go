package config

import "strings"

// validateOps checks the settings of running the server as a service.
func (c *Config) validateOps(bad func(key, format string, a ...any)) {
	if u := c.User; u != "" && (strings.ContainsAny(u, " \t\r\n:/") || u == "root" || u == "0") {
		bad("user", "must be the name of an unprivileged account such as \"mailwarden\", got %q", u)
	}
}
