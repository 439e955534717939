// Package config owns mailwarden.toml: the types, the built-in defaults, and
// validation that reports errors as file:line. It knows nothing about the
// servers that use it; unknown keys are errors so typos never pass silently.
package config
