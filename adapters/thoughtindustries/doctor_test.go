package thoughtindustries_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/doctor/doctortest"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const doctorPerson = "doctor-test@example.com"

// doctorFields are the custom fields the doctor runs configure; the emulator defines both unless a case says not.
const doctorFields = "department=dept,costCenter=cost_center"

// doctorRig is a tenant with seeded people, served on 127.0.0.1.
type doctorRig struct {
	em    *titest.Emulator
	srv   *httptest.Server
	seeds []string
	waits *doctortest.Waits
	env   settings
}

func newDoctorRig(t *testing.T, seed int) *doctorRig {
	t.Helper()
	em := titest.New(apiKey)
	var users []adapters.User
	for i := range seed {
		users = append(users, adapters.User{Email: fmt.Sprintf("person%03d@example.com", i+1), GivenName: "Given", FamilyName: fmt.Sprint(i + 1),
			Active: true, Attrs: map[string]string{adapters.AttrPreferredLanguage: "de", adapters.AttrDepartment: "Ops"}})
	}
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	r := &doctorRig{em: em, srv: srv, seeds: em.Seed(users...), waits: &doctortest.Waits{}}
	r.env = settings{
		thoughtindustries.EnvUpstreamURL:   em.BaseURL(srv.URL),
		thoughtindustries.EnvUpstreamToken: apiKey,
		thoughtindustries.EnvCustomFields:  doctorFields,
	}
	return r
}

func (r *doctorRig) run(t *testing.T, testUser string, change settings) doctor.Report {
	t.Helper()
	env := maps.Clone(r.env)
	maps.Copy(env, change)
	rep, err := thoughtindustries.Doctor(t.Context(), func(k string) string { return env[k] }, adapters.Deps{},
		doctor.Options{TestUser: testUser, Wait: r.waits.Wait})
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), apiKey) {
		t.Errorf("the report holds the API key: %s", b)
	}
	return rep
}

// testPersonState is "gone", "active" or "deactivated", as the tenant holds the test person.
func (r *doctorRig) testPersonState(t *testing.T) string {
	t.Helper()
	a, err := thoughtindustries.Open(func(k string) string { return r.env[k] }, adapters.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.FindByEmail(t.Context(), doctorPerson)
	switch {
	case errors.Is(err, adapters.ErrNotFound):
		return "gone"
	case err != nil:
		t.Fatal(err)
	case u.Active:
		return "active"
	}
	return "deactivated"
}

// seedsUntouched checks that the people the doctor did not create are as they were, and that no request that
// changes anything named one of them.
func (r *doctorRig) seedsUntouched(t *testing.T, before map[string]map[string]any) {
	t.Helper()
	for _, id := range r.seeds {
		raw, ok := r.em.Raw(id)
		if !ok || fmt.Sprint(raw) != fmt.Sprint(before[id]) {
			t.Errorf("seeded person %s changed:\n%v\nwas\n%v", id, raw, before[id])
		}
	}
	doctortest.WritesOnlyTestPerson(t, r.em.Log(), r.seeds, doctorPerson)
}

func (r *doctorRig) snapshot() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, id := range r.seeds {
		out[id], _ = r.em.Raw(id)
	}
	return out
}

func TestDoctorAgainstTheEmulatorAndItsVariants(t *testing.T) {
	cases := []struct {
		name    string
		variant titest.Variant
		keys    []string // custom-field keys the tenant defines; nil: every key
		change  settings
		// want lists the assumptions that must not hold, with their verdict; every other one must hold.
		want map[string]doctor.Verdict
		// advice lists words the advice of an assumption must hold.
		advice map[string]string
		left   string // the test person afterwards
	}{
		{name: "the emulator as documented holds every assumption", left: "gone"},
		{name: "an e-mail parameter the tenant ignores differs: lookups walk the listing",
			variant: titest.Variant{IgnoreEmailFilter: true},
			want:    map[string]doctor.Verdict{"find.email-param": doctor.Differs, "find.email-case": doctor.Skipped},
			advice:  map[string]string{"find.email-param": "paramEmail"}, left: "gone"},
		{name: "an e-mail filter that minds case differs: only lower-case addresses are found again",
			variant: titest.Variant{CaseSensitiveEmailFilter: true},
			want:    map[string]doctor.Verdict{"find.email-case": doctor.Differs},
			advice:  map[string]string{"find.email-case": "lower case"}, left: "gone"},
		{name: "a DELETE that only deactivates differs in deactivate mode",
			variant: titest.Variant{SoftDelete: true},
			want:    map[string]doctor.Verdict{"delete.permanent": doctor.Differs},
			advice:  map[string]string{"delete.permanent": "never sends DELETE"}, left: "deactivated"},
		{name: "a DELETE that only deactivates fails in delete mode",
			variant: titest.Variant{SoftDelete: true}, change: settings{thoughtindustries.EnvDeleteMode: "delete"},
			want:   map[string]doctor.Verdict{"delete.permanent": doctor.Fails},
			advice: map[string]string{"delete.permanent": "SCIM_BRIDGE_DELETE_MODE=deactivate"}, left: "deactivated"},
		{name: "a smaller page maximum fails: listings would stop early",
			variant: titest.Variant{MaxPerPage: 50},
			want:    map[string]doctor.Verdict{"list.per-page": doctor.Fails},
			advice:  map[string]string{"list.per-page": "maxPerPage in adapters/thoughtindustries/wire.go must become 50"}, left: "gone"},
		{name: "another default page size differs: the bridge always sends per_page",
			variant: titest.Variant{DefaultPerPage: 10},
			want:    map[string]doctor.Verdict{"list.page-size": doctor.Differs},
			advice:  map[string]string{"list.page-size": "titest.DefaultPerPage"}, left: "gone"},
		{name: "a duplicate refused with 409 instead of 422 differs: the bridge copes",
			variant: titest.Variant{DuplicateStatus: http.StatusConflict},
			want:    map[string]doctor.Verdict{"duplicate.refused": doctor.Differs},
			advice:  map[string]string{"duplicate.refused": "copes"}, left: "gone"},
		{name: "a duplicate refused in words the bridge does not know fails",
			variant: titest.Variant{DuplicateStatus: http.StatusBadRequest, DuplicateMessage: "Validation failed"},
			want:    map[string]doctor.Verdict{"duplicate.refused": doctor.Fails},
			advice:  map[string]string{"duplicate.refused": "duplicateEmailPhrases"}, left: "gone"},
		{name: "a language the tenant drops silently fails and names the SCIM attribute",
			variant: titest.Variant{DropFields: []string{"language"}},
			want:    map[string]doctor.Verdict{"create.fields": doctor.Fails},
			advice:  map[string]string{"create.fields": "preferredLanguage"}, left: "gone"},
		{name: "a custom-field key missing from the admin portal fails and names the setting",
			keys:   []string{"dept"},
			want:   map[string]doctor.Verdict{"custom-fields": doctor.Fails},
			advice: map[string]string{"custom-fields": "cost_center"}, left: "gone"},
		{name: "answers without a body differ: the bridge reads back",
			variant: titest.Variant{NoEcho: true},
			want:    map[string]doctor.Verdict{"create.echo": doctor.Differs, "update.echo": doctor.Differs},
			advice:  map[string]string{"create.echo": "by e-mail", "update.echo": "reads the person back"}, left: "gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// More than two maximum pages, so that the page size and its maximum both show.
			r := newDoctorRig(t, 130)
			r.em.SetVariant(tc.variant)
			if tc.keys != nil {
				r.em.SetCustomFieldKeys(tc.keys...)
			}
			before := r.snapshot()
			rep := r.run(t, doctorPerson, tc.change)

			doctortest.Expect(t, rep, thoughtindustries.Assumptions(), tc.want, tc.advice, tc.left)
			if got := r.testPersonState(t); got != tc.left {
				t.Errorf("the test person is left %q, want %q", got, tc.left)
			}
			r.seedsUntouched(t, before)
		})
	}
}

func TestDoctorReadOnlyChangesNothing(t *testing.T) {
	r := newDoctorRig(t, 30)
	rep := r.run(t, "", nil)
	for _, res := range rep.Results {
		want := doctor.Holds
		if res.Write && res.ID != "custom-fields" {
			want = doctor.Skipped
		}
		if res.ID == "custom-fields" {
			want = doctor.Skipped // configured keys can only be seen to stick by writing one
		}
		if res.Verdict != want {
			t.Errorf("%s: %s (%s), want %s", res.ID, res.Verdict, res.Observed, want)
		}
	}
	for _, c := range r.em.Log() {
		if c.Method != http.MethodGet {
			t.Errorf("a read-only run sent %s %s", c.Method, c.Path)
		}
	}
	if rep.ExitCode() != doctor.ExitHolds {
		t.Errorf("exit code %d", rep.ExitCode())
	}
	rep = r.run(t, "", settings{thoughtindustries.EnvCustomFields: ""})
	if res, _ := rep.Result("custom-fields"); res.Verdict != doctor.Holds || !strings.Contains(res.Observed, "none configured") {
		t.Errorf("custom-fields without any configured: %s (%s)", res.Verdict, res.Observed)
	}
}

func TestDoctorCannotRun(t *testing.T) {
	cases := []struct {
		name    string
		key     string
		setup   func(r *doctorRig)
		mention string
		auth    doctor.Verdict
	}{
		{name: "a refused key", key: "ti-wrong-key-5555", mention: "refused the API key", auth: doctor.Fails},
		{name: "an unreachable tenant", key: apiKey, setup: func(r *doctorRig) { r.srv.Close() }, mention: "could not be reached", auth: doctor.Skipped},
		{name: "a test e-mail that belongs to someone", key: apiKey, mention: "refusing --write-test-user", auth: doctor.Holds,
			setup: func(r *doctorRig) {
				r.em.Seed(adapters.User{Email: strings.ToUpper(doctorPerson), GivenName: "Some", FamilyName: "One", Active: true})
			}},
		{name: "a tenant that keeps throttling", key: apiKey, mention: "try again later", auth: doctor.Skipped,
			setup: func(r *doctorRig) { r.em.Fail(upstreamtest.OpList, http.StatusTooManyRequests, -1, time.Second) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newDoctorRig(t, 2)
			if tc.setup != nil {
				tc.setup(r)
			}
			rep := r.run(t, doctorPerson, settings{thoughtindustries.EnvUpstreamToken: tc.key})
			if rep.ExitCode() != doctor.ExitCannotRun || !strings.Contains(rep.Aborted, tc.mention) {
				t.Errorf("exit %d, aborted %q; want 2 mentioning %q", rep.ExitCode(), rep.Aborted, tc.mention)
			}
			if res, _ := rep.Result("auth.header"); res.Verdict != tc.auth {
				t.Errorf("auth: %s (%s), want %s", res.Verdict, res.Observed, tc.auth)
			}
			if b, _ := json.Marshal(rep); strings.Contains(string(b), tc.key) {
				t.Errorf("the report holds the key: %s", b)
			}
			for _, c := range r.em.Log() {
				if c.Method != http.MethodGet {
					t.Errorf("a run that could not start sent %s %s", c.Method, c.Path)
				}
			}
		})
	}
}

func TestDoctorRefusesInvalidSettings(t *testing.T) {
	_, err := thoughtindustries.Doctor(t.Context(), func(string) string { return "" }, adapters.Deps{}, doctor.Options{})
	if err == nil || !strings.Contains(err.Error(), thoughtindustries.EnvSubdomain) || !strings.Contains(err.Error(), thoughtindustries.EnvUpstreamToken) {
		t.Errorf("error %v does not name the settings", err)
	}
}

// TestTheDocsNameEveryAssumption keeps docs/thoughtindustries.md's "Before go-live" section and the list in
// assumptions.go the same list.
func TestTheDocsNameEveryAssumption(t *testing.T) {
	doctortest.DocsNameEveryAssumption(t, "../../docs/thoughtindustries.md", thoughtindustries.Assumptions())
	if thoughtindustries.AssumedDefaultPerPage != titest.DefaultPerPage {
		t.Errorf("the doctor assumes %d a page by default, the emulator serves %d", thoughtindustries.AssumedDefaultPerPage, titest.DefaultPerPage)
	}
}
