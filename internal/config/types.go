package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Size is a byte count written as an integer or as "10M", "2G", "512K".
type Size int64

// ParseSize reads 1234, "1234", "64K", "10M", "2G", "1T" (powers of 1024);
// "2GB" and "2GiB" are read as "2G".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if t := strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i"); len(t) < len(s) && t != "" && strings.ContainsRune("kKmMgGtT", rune(t[len(t)-1])) {
		s = t
	}
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	case 'b', 'B':
	default:
		mult = 0
	}
	num := s
	if mult != 0 {
		num = strings.TrimSpace(s[:len(s)-1])
	} else {
		mult = 1
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q: want a number of bytes, optionally with K, M, G or T (\"25M\", \"2G\")", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n * mult), nil
}

// UnmarshalTOML accepts an integer or a string.
func (z *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("size must not be negative")
		}
		*z = Size(x)
		return nil
	case string:
		n, err := ParseSize(x)
		if err != nil {
			return err
		}
		*z = n
		return nil
	}
	return fmt.Errorf("size must be an integer or a string like \"25M\", not %T", v)
}

// String formats z the way ParseSize reads it back.
func (z Size) String() string {
	n := int64(z)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Duration is written as a Go duration string ("5m", "300s") or seconds.
type Duration time.Duration

// UnmarshalTOML accepts "5m"/"1h30m" or an integer number of seconds.
func (d *Duration) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*d = Duration(time.Duration(x) * time.Second)
		return nil
	case string:
		t, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("bad duration %q: want e.g. \"300s\", \"5m\"", x)
		}
		*d = Duration(t)
		return nil
	}
	return fmt.Errorf("duration must be a string like \"5m\" or seconds, not %T", v)
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes z as ParseSize reads it ("25M").
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// MarshalText writes d as a Go duration string ("5m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
