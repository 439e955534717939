package dkim

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func selectors(ks []Key) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Selector)
	}
	return out
}

func TestStoreCreate(t *testing.T) {
	ctx := context.Background()
	st, clk, db := newStore(t)
	k, err := st.Create(ctx, "Example.COM.", "", RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	if k.Domain != "example.com" || k.Selector != "mw202612r" || k.StateAt(clk.now()) != Active {
		t.Errorf("created %+v", k)
	}
	if _, err := st.Create(ctx, "example.com", "", RSA3072); err == nil || !strings.Contains(err.Error(), "dkim rotate") {
		t.Errorf("a second RSA key: %v, want a pointer to rotate", err)
	}
	if _, err := st.Create(ctx, "example.com", "mw202612r", Ed25519); err == nil {
		t.Error("a taken selector was accepted")
	}
	if _, err := st.Create(ctx, "example.com", "bad selector", Ed25519); err == nil {
		t.Error("a bad selector was accepted")
	}
	if _, err := st.Create(ctx, "example.com", "", "rsa1024"); err == nil {
		t.Error("an unknown algorithm was accepted")
	}
	if _, err := st.Create(ctx, "example.com", "ed1", Ed25519); err != nil {
		t.Fatal(err)
	}
	act, err := st.Active(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := selectors(act); !slices.Equal(got, []string{"mw202612r", "ed1"}) {
		t.Errorf("active %v, want RSA then Ed25519", got)
	}
	// What was stored is what signs: the private key round-trips.
	got, err := st.Get(ctx, "example.com", "mw202612r")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := PublicValue(got.Signer); p != k.Public || got.Record() != k.Record() {
		t.Error("the stored key differs from the one created")
	}
	if _, err := st.Get(ctx, "example.com", "nope"); !errors.Is(err, ErrNoKey) {
		t.Errorf("Get of a missing key: %v", err)
	}
	if act, _ := st.Active(ctx, "other.example"); len(act) != 0 {
		t.Errorf("another domain has keys %v", selectors(act))
	}
	// The database holding private keys is its owner's only.
	fi, err := os.Stat(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("database mode %v: readable by others", fi.Mode().Perm())
	}
}

func TestStoreRotate(t *testing.T) {
	ctx := context.Background()
	st, clk, _ := newStore(t)
	if _, err := st.Rotate(ctx, "example.com", "", "", time.Hour, time.Hour); err == nil || !strings.Contains(err.Error(), "keygen") {
		t.Errorf("rotating without a key: %v", err)
	}
	if _, err := st.Create(ctx, "example.com", "", RSA2048); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, "example.com", "", Ed25519); err != nil {
		t.Fatal(err)
	}
	clk.add(24 * time.Hour)
	const publish, retire = 72 * time.Hour, 7 * 24 * time.Hour
	if _, err := st.Rotate(ctx, "example.com", Ed25519, "mw202612r", publish, retire); err == nil {
		t.Error("rotate to a taken selector was accepted")
	}
	rs, err := st.Rotate(ctx, "example.com", RSA3072, "", publish, retire)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].New.Selector != "mw202612r2" || rs[0].New.Algorithm != RSA3072 || len(rs[0].Old) != 1 || rs[0].Old[0].Selector != "mw202612r" {
		t.Fatalf("rotation %+v", rs)
	}
	switchAt := clk.now().Add(publish)
	if !rs[0].New.ActiveFrom.Equal(switchAt) || !rs[0].Old[0].RetireAt.Equal(switchAt) || !rs[0].Old[0].DeleteAt.Equal(switchAt.Add(retire)) {
		t.Errorf("schedule new %v, old %v..%v", rs[0].New.ActiveFrom, rs[0].Old[0].RetireAt, rs[0].Old[0].DeleteAt)
	}
	// A second rotation before the switch replaces the pending key's
	// successor as well: the pending one is published, not yet retiring.
	state := func() map[string]State {
		ks, err := st.List(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]State{}
		for _, k := range ks {
			m[k.Selector] = k.StateAt(clk.now())
		}
		return m
	}
	active := func() []string {
		ks, err := st.Active(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		return selectors(ks)
	}
	for _, step := range []struct {
		after  time.Duration
		active []string
		states map[string]State
	}{
		{0, []string{"mw202612r", "mw202612e"}, map[string]State{"mw202612r": Active, "mw202612r2": Published, "mw202612e": Active}},
		{publish - time.Second, []string{"mw202612r", "mw202612e"}, nil},
		{time.Second, []string{"mw202612r2", "mw202612e"}, map[string]State{"mw202612r": Retired, "mw202612r2": Active, "mw202612e": Active}},
		{retire, []string{"mw202612r2", "mw202612e"}, map[string]State{"mw202612r": Deleted, "mw202612r2": Active, "mw202612e": Active}},
	} {
		clk.add(step.after)
		if got := active(); !slices.Equal(got, step.active) {
			t.Errorf("at %v: active %v, want %v", clk.now(), got, step.active)
		}
		if step.states != nil {
			if got := state(); !mapsEqual(got, step.states) {
				t.Errorf("at %v: states %v, want %v", clk.now(), got, step.states)
			}
		}
	}
	gone, err := st.Sweep(ctx)
	if err != nil || len(gone) != 1 || gone[0].Selector != "mw202612r" {
		t.Errorf("sweep: %v, %v", selectors(gone), err)
	}
	if _, ok := state()["mw202612r"]; ok {
		t.Error("the deleted key is still listed after the sweep")
	}
	// Rotating every type at once: a new key per type.
	rs, err = st.Rotate(ctx, "example.com", "", "", publish, retire)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.New.Algorithm.KeyType()+":"+strings.Join(selectors(r.Old), ","))
	}
	if !slices.Equal(got, []string{"rsa:mw202612r2", "ed25519:mw202612e"}) {
		t.Errorf("rotate all: %v", got)
	}
	if _, err := st.Rotate(ctx, "example.com", "", "x1", publish, retire); err == nil {
		t.Error("one --selector for two new keys was accepted")
	}
}

func mapsEqual(a, b map[string]State) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
