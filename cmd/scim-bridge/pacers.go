package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters/pace"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

// pacers hands out one pace.Pacer per vendor account. A vendor limits an account, not a connection: two
// connections that reach the same account (the same target, URL and credentials, as when one Trainual account is
// fed by both Okta and Entra) must share one pace, or together they would send twice what the vendor accepts.
type pacers struct {
	byAccount map[string]*pace.Pacer
	ceiling   map[string]float64
}

func newPacers() *pacers {
	return &pacers{byAccount: map[string]*pace.Pacer{}, ceiling: map[string]float64{}}
}

// forAccount returns the pacer of the account the target's settings reach. ceiling is the connection's
// SCIM_BRIDGE_UPSTREAM_RATE; connections sharing an account get the lowest ceiling any of them sets.
func (p *pacers) forAccount(t targets.Target, get func(string) string, ceiling float64) *pace.Pacer {
	key := accountKey(t, get)
	pc := p.byAccount[key]
	if pc == nil {
		pc = pace.New(ceiling)
		p.byAccount[key], p.ceiling[key] = pc, ceiling
		return pc
	}
	if prev := p.ceiling[key]; ceiling > 0 && (prev == 0 || ceiling < prev) {
		p.ceiling[key] = ceiling
		pc.SetCeiling(ceiling)
	}
	return pc
}

// accountKey identifies a vendor account by the target and every URL and secret setting the target reads; the
// secrets are hashed, so the key can be held and compared without holding them.
func accountKey(t targets.Target, get func(string) string) string {
	h := sha256.New()
	h.Write([]byte(t.Name))
	for _, s := range t.Settings {
		if s.Secret || strings.HasSuffix(s.Env, "_URL") {
			h.Write([]byte{0})
			h.Write([]byte(s.Env))
			h.Write([]byte{0})
			h.Write([]byte(get(s.Env)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
