package trainual_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/doctor/doctortest"
	"github.com/scim-bridge/scim-bridge/adapters/trainual"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const testPerson = "doctor-test@example.com"

// doctorRig is an emulator with seeded people, served on 127.0.0.1.
type doctorRig struct {
	em    *trainualtest.Emulator
	url   string
	seeds []string
	waits *doctortest.Waits
}

func newDoctorRig(t *testing.T, seed int, wrap func(http.Handler) http.Handler) *doctorRig {
	t.Helper()
	em := trainualtest.New(testKey)
	var users []adapters.User
	for i := range seed {
		users = append(users, user(i+1))
	}
	var h http.Handler = em
	if wrap != nil {
		h = wrap(em)
	}
	return &doctorRig{em: em, url: serve(t, h), seeds: em.Seed(users...), waits: &doctortest.Waits{}}
}

func (r *doctorRig) run(t *testing.T, testUser string) doctor.Report {
	t.Helper()
	rep, err := trainual.Doctor(t.Context(), settings(map[string]string{
		"SCIM_BRIDGE_UPSTREAM_URL":   r.url,
		"SCIM_BRIDGE_UPSTREAM_TOKEN": testKey,
	}), adapters.Deps{}, doctor.Options{TestUser: testUser, Wait: r.waits.Wait})
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), testKey) {
		t.Errorf("the report holds the API key: %s", b)
	}
	return rep
}

// seedsUntouched checks that the people the doctor did not create are as they were, and that every request
// that changes anything named the test person's id or created them.
func (r *doctorRig) seedsUntouched(t *testing.T, before map[string]adapters.User) {
	t.Helper()
	for _, id := range r.seeds {
		u, ok := r.em.User(id)
		if !ok || u.Email != before[id].Email || u.Active != before[id].Active || u.Attrs[adapters.AttrTitle] != before[id].Attrs[adapters.AttrTitle] {
			t.Errorf("seeded person %s changed: %+v", id, u)
		}
	}
	doctortest.WritesOnlyTestPerson(t, r.em.Log(), r.seeds, testPerson)
}

func (r *doctorRig) snapshot() map[string]adapters.User {
	out := map[string]adapters.User{}
	for _, id := range r.seeds {
		out[id], _ = r.em.User(id)
	}
	return out
}

// testPersonState is the test person's status in the emulator, "gone" when Trainual no longer has them.
func (r *doctorRig) testPersonState(t *testing.T) string {
	t.Helper()
	u, err := open(t, r.url, testKey, nil).FindByEmail(t.Context(), testPerson)
	if errors.Is(err, adapters.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		t.Fatal(err)
	}
	st, _ := r.em.Status(u.ID)
	return st
}

func TestDoctorAgainstTheEmulatorAndItsVariants(t *testing.T) {
	cases := []struct {
		name    string
		variant trainualtest.Variant
		// want lists the assumptions that must not hold, with their verdict; every other one must hold.
		want map[string]doctor.Verdict
		// advice lists words the advice of an assumption must hold.
		advice map[string]string
		// left is the test person's state afterwards.
		left string
	}{
		{name: "the emulator as documented holds every assumption", left: "deactivated"},
		{name: "an e-mail parameter Trainual ignores differs: lookups walk the listing",
			variant: trainualtest.Variant{IgnoreEmailFilter: true},
			want:    map[string]doctor.Verdict{"find.email-param": doctor.Differs, "find.email-case": doctor.Skipped},
			advice:  map[string]string{"find.email-param": "paramEmail"}, left: "deactivated"},
		{name: "an e-mail filter that minds case fails: people in another case are not linked",
			variant: trainualtest.Variant{CaseSensitiveEmailFilter: true},
			want:    map[string]doctor.Verdict{"find.email-case": doctor.Fails},
			advice:  map[string]string{"find.email-case": "same case"}, left: "deactivated"},
		{name: "a DELETE that hard-deletes fails: offboarding would erase people",
			variant: trainualtest.Variant{HardDelete: true},
			want:    map[string]doctor.Verdict{"delete.deactivates": doctor.Fails, "reactivate.status": doctor.Skipped},
			advice:  map[string]string{"delete.deactivates": "hard-deletes"}, left: "gone"},
		{name: "another page size differs and names the emulator's constant",
			variant: trainualtest.Variant{PageSize: 10},
			want:    map[string]doctor.Verdict{"list.page-size": doctor.Differs},
			advice:  map[string]string{"list.page-size": "trainualtest.PageSize"}, left: "deactivated"},
		{name: "a duplicate refused with 409 instead of 422 differs: the bridge copes",
			variant: trainualtest.Variant{DuplicateStatus: http.StatusConflict},
			want:    map[string]doctor.Verdict{"duplicate.refused": doctor.Differs},
			advice:  map[string]string{"duplicate.refused": "copes"}, left: "deactivated"},
		{name: "a duplicate refused in words the bridge does not know fails",
			variant: trainualtest.Variant{DuplicateStatus: http.StatusBadRequest, DuplicateMessage: "Validation failed"},
			want:    map[string]doctor.Verdict{"duplicate.refused": doctor.Fails},
			advice:  map[string]string{"duplicate.refused": "takenPhrases"}, left: "deactivated"},
		{name: "a department Trainual drops silently fails and names the SCIM attribute",
			variant: trainualtest.Variant{DropFields: []string{"department"}},
			want:    map[string]doctor.Verdict{"create.fields": doctor.Fails},
			advice:  map[string]string{"create.fields": "enterprise department"}, left: "deactivated"},
		{name: "a title Trainual drops silently fails the create and the update",
			variant: trainualtest.Variant{DropFields: []string{"title"}},
			want:    map[string]doctor.Verdict{"create.fields": doctor.Fails, "update.patch": doctor.Fails, "update.clear": doctor.Holds},
			advice:  map[string]string{"update.patch": "title"}, left: "deactivated"},
		{name: "answers without a body fail the create (the id is needed) and differ on update",
			variant: trainualtest.Variant{NoEcho: true},
			want:    map[string]doctor.Verdict{"create.echo": doctor.Fails, "update.echo": doctor.Differs},
			advice:  map[string]string{"create.echo": "new id", "update.echo": "copes"}, left: "deactivated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newDoctorRig(t, 30, nil)
			r.em.SetVariant(tc.variant)
			before := r.snapshot()
			rep := r.run(t, testPerson)

			doctortest.Expect(t, rep, trainual.Assumptions(), tc.want, tc.advice, tc.left)
			if got := r.testPersonState(t); got != tc.left {
				t.Errorf("the test person is left %q, want %q", got, tc.left)
			}
			r.seedsUntouched(t, before)
		})
	}
}

func TestDoctorReadOnlyChangesNothingAndSkipsTheWriteChecks(t *testing.T) {
	r := newDoctorRig(t, 30, nil)
	rep := r.run(t, "")
	for _, res := range rep.Results {
		want := doctor.Holds
		if res.Write {
			want = doctor.Skipped
			if !strings.Contains(res.Observed, "--write-test-user") {
				t.Errorf("%s skipped without saying how to check it: %q", res.ID, res.Observed)
			}
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
	if rep.Calls == 0 || rep.Calls > 8 {
		t.Errorf("%d vendor calls for a read-only run", rep.Calls)
	}
}

func TestDoctorOnAnEmptyAccountChecksLookupsWithTheTestPerson(t *testing.T) {
	for _, write := range []bool{false, true} {
		t.Run(fmt.Sprintf("write=%v", write), func(t *testing.T) {
			r := newDoctorRig(t, 0, nil)
			email := ""
			if write {
				email = testPerson
			}
			rep := r.run(t, email)
			for _, id := range []string{"find.email-param", "find.email-case", "get.envelope"} {
				res, _ := rep.Result(id)
				want := doctor.Skipped
				if write {
					want = doctor.Holds
				}
				if res.Verdict != want {
					t.Errorf("%s: %s (%s), want %s", id, res.Verdict, res.Observed, want)
				}
			}
			if res, _ := rep.Result("list.page-size"); res.Verdict != doctor.Skipped {
				t.Errorf("page size on an empty account: %s (%s)", res.Verdict, res.Observed)
			}
		})
	}
}

func TestDoctorCannotRun(t *testing.T) {
	cases := []struct {
		name    string
		key     string
		setup   func(r *doctorRig)
		closed  bool
		mention string
		auth    doctor.Verdict
	}{
		{name: "a refused key", key: "trn-wrong-key-5555", mention: "refused the API key", auth: doctor.Fails},
		{name: "an unreachable vendor", key: testKey, closed: true, mention: "could not be reached", auth: doctor.Skipped},
		{name: "a test e-mail that belongs to someone", key: testKey, mention: "refusing --write-test-user", auth: doctor.Holds,
			setup: func(r *doctorRig) {
				r.em.Seed(adapters.User{Email: strings.ToUpper(testPerson), GivenName: "Some", FamilyName: "One", Active: true})
			}},
		{name: "a vendor that keeps failing", key: testKey, mention: "try again later", auth: doctor.Skipped,
			setup: func(r *doctorRig) { r.em.Fail(upstreamtest.OpList, http.StatusBadGateway, -1, 0) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			em := trainualtest.New(testKey)
			ids := em.Seed(user(1), user(2))
			srv := httptest.NewServer(em)
			r := &doctorRig{em: em, url: srv.URL + trainualtest.BasePath, seeds: ids, waits: &doctortest.Waits{}}
			if tc.closed {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}
			if tc.setup != nil {
				tc.setup(r)
			}
			rep, err := trainual.Doctor(t.Context(), settings(map[string]string{
				"SCIM_BRIDGE_UPSTREAM_URL": r.url, "SCIM_BRIDGE_UPSTREAM_TOKEN": tc.key,
			}), adapters.Deps{}, doctor.Options{TestUser: testPerson, Wait: r.waits.Wait})
			if err != nil {
				t.Fatal(err)
			}
			if rep.ExitCode() != doctor.ExitCannotRun || !strings.Contains(rep.Aborted, tc.mention) {
				t.Errorf("exit %d, aborted %q; want 2 mentioning %q", rep.ExitCode(), rep.Aborted, tc.mention)
			}
			if res, _ := rep.Result("auth.bearer"); res.Verdict != tc.auth {
				t.Errorf("auth: %s (%s), want %s", res.Verdict, res.Observed, tc.auth)
			}
			if b, _ := json.Marshal(rep); strings.Contains(string(b), tc.key) {
				t.Errorf("the report holds the key: %s", b)
			}
			if !tc.closed {
				for _, c := range em.Log() {
					if c.Method != http.MethodGet {
						t.Errorf("a run that could not start sent %s %s", c.Method, c.Path)
					}
				}
			}
		})
	}
}

func TestDoctorInterruptedMidWalkStillCleansUp(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The deployer presses Ctrl-C while the test person is being updated.
	r := newDoctorRig(t, 3, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodPatch {
				cancel()
			}
			h.ServeHTTP(w, req)
		})
	})
	rep, err := trainual.Doctor(ctx, settings(map[string]string{
		"SCIM_BRIDGE_UPSTREAM_URL": r.url, "SCIM_BRIDGE_UPSTREAM_TOKEN": testKey,
	}), adapters.Deps{}, doctor.Options{TestUser: testPerson, Wait: r.waits.Wait})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode() != doctor.ExitCannotRun || !strings.Contains(rep.Aborted, "interrupted") {
		t.Errorf("exit %d, aborted %q; want 2, interrupted", rep.ExitCode(), rep.Aborted)
	}
	for _, res := range rep.Results {
		if res.Verdict == doctor.Fails || res.Verdict == doctor.Differs {
			t.Errorf("%s %s after an interruption: %s", res.ID, res.Verdict, res.Observed)
		}
	}
	if got := r.testPersonState(t); got != "deactivated" {
		t.Errorf("the test person is left %q after the interruption", got)
	}
}

func TestDoctorRefusesInvalidSettings(t *testing.T) {
	_, err := trainual.Doctor(t.Context(), settings(map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": "ftp://x"}), adapters.Deps{}, doctor.Options{})
	if err == nil || !strings.Contains(err.Error(), "SCIM_BRIDGE_UPSTREAM_TOKEN") || !strings.Contains(err.Error(), "SCIM_BRIDGE_UPSTREAM_URL") {
		t.Errorf("error %v does not name both settings", err)
	}
}

func TestDoctorHonoursRetryAfterAndReportsRateLimitHeaders(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		throttle time.Duration
		waits    []time.Duration
		header   string
	}{
		{name: "a 429 with Retry-After is waited out for as long as it asks", throttle: 3 * time.Second,
			waits: []time.Duration{3 * time.Second}, header: "Retry-After: 3"},
		{name: "a 429 without Retry-After is waited out with the doctor's own pause",
			waits: []time.Duration{time.Second}},
		{name: "rate-limit headers are reported", header: "X-Ratelimit-Limit: 120",
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-RateLimit-Limit", "120")
					h.ServeHTTP(w, r)
				})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newDoctorRig(t, 3, tc.wrap)
			if tc.waits != nil {
				r.em.Fail(upstreamtest.OpList, http.StatusTooManyRequests, 1, tc.throttle)
			}
			rep := r.run(t, "")
			if !slices.Equal(r.waits.Seen(), tc.waits) {
				t.Errorf("waited %v, want %v", r.waits.Seen(), tc.waits)
			}
			res, _ := rep.Result("rate-limit")
			switch {
			case tc.header == "" && res.Verdict != doctor.Holds:
				t.Errorf("rate-limit: %s (%s), want holds", res.Verdict, res.Observed)
			case tc.header != "" && (res.Verdict != doctor.Differs || !strings.Contains(res.Observed, tc.header)):
				t.Errorf("rate-limit: %s (%s), want differs naming %q", res.Verdict, res.Observed, tc.header)
			}
			if tc.waits != nil && !strings.Contains(res.Observed, "429 answers: 1") {
				t.Errorf("rate-limit observation %q does not count the 429", res.Observed)
			}
		})
	}
}

// TestTheDocsNameEveryAssumption keeps docs/trainual.md's "Before go-live" section and the list in assumptions.go
// the same list.
func TestTheDocsNameEveryAssumption(t *testing.T) {
	doctortest.DocsNameEveryAssumption(t, "../../docs/trainual.md", trainual.Assumptions())
	if trainual.AssumedPageSize != trainualtest.PageSize {
		t.Errorf("the doctor assumes %d a page, the emulator serves %d", trainual.AssumedPageSize, trainualtest.PageSize)
	}
}
