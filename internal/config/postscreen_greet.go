package config

import "time"

// PostscreenGreet is postscreen's pregreet test, keys of [postscreen]
// (Postscreen embeds it).
type PostscreenGreet struct {
	// GreetAction is postscreen_greet_action: what happens to a client
	// that talks before the greeting (RFC 5321 4.3.1). "ignore" (the
	// default) only logs it; "enforce" lets the session go on but refuses
	// every RCPT with 550 5.5.1 Protocol error; "drop" answers 521 5.5.1
	// Protocol error and hangs up. Under enforce and drop the client is
	// remembered for GreetTTL and treated so at once on its next
	// connections.
	GreetAction string `toml:"greet_action"`
	// GreetWait is postscreen_greet_wait: how long to listen for early
	// talk before the greeting (0: only what has already arrived when the
	// greeting is written). Only clients outside mynetworks and not
	// remembered wait, and only when GreetAction is not ignore.
	GreetWait Duration `toml:"greet_wait"`
	// GreetTTL is postscreen_greet_ttl (1d): how long a client that
	// talked early is remembered.
	GreetTTL Duration `toml:"greet_ttl"`
}

func defaultPostscreenGreet() PostscreenGreet {
	return PostscreenGreet{GreetAction: "ignore", GreetTTL: Duration(24 * time.Hour)}
}

// validatePostscreen checks the pregreet keys of [postscreen].
func (c *Config) validatePostscreen(bad func(key, format string, a ...any)) {
	p := &c.Postscreen.PostscreenGreet
	switch p.GreetAction {
	case "ignore", "enforce", "drop":
	default:
		bad("postscreen.greet_action", "must be ignore, enforce or drop, got %q", p.GreetAction)
	}
	if d := p.GreetWait.D(); d < 0 || d > time.Minute {
		bad("postscreen.greet_wait", "must be between 0 and 1m, got %s", d)
	}
	if d := p.GreetTTL.D(); d < time.Second {
		bad("postscreen.greet_ttl", "must be at least 1s, got %s", d)
	}
}
