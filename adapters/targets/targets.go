// Package targets is the only list of vendors the bridge can provision into. Adding a vendor is one entry here;
// nothing under scim/ changes, and the new vendor is enrolled in the sandbox, the end-to-end suite and the docs.
package targets

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/trainual"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// Target describes one vendor.
type Target struct {
	Name string
	// DisplayName is how the vendor is named to people, in the details of SCIM errors ("Thought Industries").
	DisplayName string
	// Settings are the environment variables the target reads (shared upstream ones included).
	Settings []adapters.Setting
	// Open builds the raw adapter from settings; every problem is reported at once, naming its variable.
	Open func(get func(name string) string, deps adapters.Deps) (adapters.Adapter, error)
	// Emulator starts the in-process emulator used by tests and `scim-bridge sandbox`.
	Emulator func(apiKey string) Emulator
	// Doctor checks the adapter's assumptions against a live account (`scim-bridge doctor`).
	Doctor func(ctx context.Context, get func(string) string, deps adapters.Deps, opts doctor.Options) (doctor.Report, error)
}

// Emulator is a vendor emulator plus how to address it once served.
type Emulator interface {
	upstreamtest.Emulator
	// BaseURL is the API base (what SCIM_BRIDGE_UPSTREAM_URL would be) for an emulator served at serverURL.
	BaseURL(serverURL string) string
}

var all = map[string]Target{
	"trainual": {
		Name:        "trainual",
		DisplayName: "Trainual",
		Settings:    trainual.Settings,
		Open:        trainual.Open,
		Emulator:    func(key string) Emulator { return trainualtest.New(key) },
		Doctor:      trainual.Doctor,
	},
	"thoughtindustries": {
		Name:        "thoughtindustries",
		DisplayName: "Thought Industries",
		Settings:    thoughtindustries.Settings,
		Open:        thoughtindustries.Open,
		Emulator:    func(key string) Emulator { return titest.New(key) },
		Doctor:      thoughtindustries.Doctor,
	},
}

// Names lists the targets in a stable order.
func Names() []string {
	out := make([]string, 0, len(all))
	for n := range all {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named target; an unknown name is an error that lists the valid ones.
func Lookup(name string) (Target, error) {
	t, ok := all[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Target{}, fmt.Errorf("SCIM_BRIDGE_TARGET must be one of %s (got %q)", strings.Join(Names(), ", "), name)
	}
	return t, nil
}

// AllSettings lists every target's settings once, for flags and docs.
func AllSettings() []adapters.Setting {
	seen := map[string]bool{}
	var out []adapters.Setting
	for _, n := range Names() {
		for _, s := range all[n].Settings {
			if !seen[s.Env] {
				seen[s.Env] = true
				out = append(out, s)
			}
		}
	}
	return out
}
