package trainual_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/adaptertest"
	"github.com/scim-bridge/scim-bridge/adapters/trainual"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const testKey = "trn-live-9f8e7d6c5b4a"

func settings(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// open builds an adapter for a server whose API lives at baseURL.
func open(t testing.TB, baseURL, key string, logs io.Writer) adapters.Adapter {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	a, err := trainual.Open(settings(map[string]string{
		"SCIM_BRIDGE_UPSTREAM_URL":     baseURL,
		"SCIM_BRIDGE_UPSTREAM_TOKEN":   key,
		"SCIM_BRIDGE_UPSTREAM_TIMEOUT": "5s",
	}), adapters.Deps{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return a
}

// serve starts h on 127.0.0.1 and returns the adapter's base URL for it.
func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + trainualtest.BasePath
}

// setup returns an adapter wired to a fresh emulator, optionally seen through wrap.
func setup(t testing.TB, logs io.Writer, wrap func(http.Handler) http.Handler) (adapters.Adapter, *trainualtest.Emulator) {
	t.Helper()
	em := trainualtest.New(testKey)
	var h http.Handler = em
	if wrap != nil {
		h = wrap(em)
	}
	return open(t, serve(t, h), testKey, logs), em
}

func TestConformance(t *testing.T) {
	logs := &upstreamtest.LogBuffer{}
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, upstreamtest.Emulator) {
			return setup(t, logs, nil)
		},
		Secrets: []string{testKey},
		Logs:    logs.String,
		Deletes: false,
	})
}

func user(n int) adapters.User {
	return adapters.User{
		Email: fmt.Sprintf("user%03d@example.com", n), GivenName: fmt.Sprintf("Given%d", n), FamilyName: "Doe", Active: true,
		Attrs: map[string]string{adapters.AttrTitle: "Engineer", adapters.AttrDepartment: "Ops", adapters.AttrRole: "member"},
	}
}

// calls returns "METHOD path" for each request the emulator logged.
func calls(em *trainualtest.Emulator) []string {
	var out []string
	for _, c := range em.Log() {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

func TestCreateReadsTheShortAnswerBack(t *testing.T) {
	a, em := setup(t, nil, nil)
	u, err := a.Create(t.Context(), user(1))
	if err != nil {
		t.Fatal(err)
	}
	if u.GivenName != "Given1" || u.FamilyName != "Doe" || u.Attrs[adapters.AttrTitle] != "Engineer" || !u.Active {
		t.Errorf("create returned %+v: the fields the POST answer lacks were not read back", u)
	}
	if st, _ := em.Status(u.ID); st != "invited" {
		t.Errorf("status %q, want invited", st)
	}
	want := []string{"POST /api/v1/users", "GET /api/v1/users/" + u.ID}
	if got := calls(em); !equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if _, ok := u.Attrs[adapters.AttrExternalID]; ok {
		t.Error("the adapter claims Trainual holds externalId")
	}
}

func TestCreateWhoseReadBackFailsIsFoundInsteadOfPostedAgain(t *testing.T) {
	a, em := setup(t, nil, nil)
	em.Fail(upstreamtest.OpGet, http.StatusServiceUnavailable, 1, 0)
	u, err := adapters.Retrying(a, adaptertest.FastPolicy).Create(t.Context(), user(1))
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != user(1).Email || u.GivenName != "Given1" {
		t.Errorf("create returned %+v", u)
	}
	if em.Calls(upstreamtest.OpCreate) != 1 || em.Users() != 1 {
		t.Errorf("%d creates sent, %d accounts: want 1 and 1", em.Calls(upstreamtest.OpCreate), em.Users())
	}
}

func TestUpdate(t *testing.T) {
	cases := []struct {
		name      string
		active    bool // the seeded user's state
		ch        adapters.Change
		wantCalls []string // after the seed; {id} stands for the user's path
		wantBody  map[string]any
		wantState string
	}{
		{
			name:      "a field change sends only the changed fields and reads back",
			active:    true,
			ch:        adapters.Change{GivenName: adapters.Ptr("Jo"), Attrs: map[string]*string{adapters.AttrTitle: adapters.Ptr("Lead"), adapters.AttrDepartment: nil, "locale": adapters.Ptr("fr")}},
			wantCalls: []string{"PATCH {id}", "GET {id}"},
			wantBody:  map[string]any{"first_name": "Jo", "title": "Lead", "department": ""},
			wantState: "active",
		},
		{
			name:      "deactivation sends DELETE and confirms with GET",
			active:    true,
			ch:        adapters.Change{Active: adapters.Ptr(false)},
			wantCalls: []string{"GET {id}", "DELETE {id}", "GET {id}"},
			wantState: "deactivated",
		},
		{
			name:      "deactivation with a field change edits before deactivating",
			active:    true,
			ch:        adapters.Change{Active: adapters.Ptr(false), FamilyName: adapters.Ptr("Left")},
			wantCalls: []string{"GET {id}", "PATCH {id}", "DELETE {id}", "GET {id}"},
			wantBody:  map[string]any{"last_name": "Left"},
			wantState: "deactivated",
		},
		{
			name:      "reactivation sends PATCH status active",
			active:    false,
			ch:        adapters.Change{Active: adapters.Ptr(true)},
			wantCalls: []string{"GET {id}", "PATCH {id}", "GET {id}"},
			wantBody:  map[string]any{"status": "active"},
			wantState: "active",
		},
		{
			name:      "reactivation with a field change reactivates before editing",
			active:    false,
			ch:        adapters.Change{Active: adapters.Ptr(true), Email: adapters.Ptr("back@example.com")},
			wantCalls: []string{"GET {id}", "PATCH {id}", "PATCH {id}", "GET {id}"},
			wantBody:  map[string]any{"email": "back@example.com"},
			wantState: "active",
		},
		{
			name:      "deactivating a deactivated user sends no second DELETE",
			active:    false,
			ch:        adapters.Change{Active: adapters.Ptr(false)},
			wantCalls: []string{"GET {id}"},
			wantState: "deactivated",
		},
		{
			name:      "an empty change only reads",
			active:    true,
			ch:        adapters.Change{},
			wantCalls: []string{"GET {id}"},
			wantState: "active",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, em := setup(t, nil, nil)
			seed := user(1)
			seed.Active = c.active
			id := em.Seed(seed)[0]
			path := trainualtest.BasePath + "/users/" + id
			if _, err := a.Update(t.Context(), id, c.ch); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range c.wantCalls {
				want = append(want, strings.ReplaceAll(w, "{id}", path))
			}
			if got := calls(em); !equal(got, want) {
				t.Errorf("calls %v, want %v", got, want)
			}
			if c.wantBody != nil {
				var last map[string]any
				for _, call := range em.Log() {
					if call.Method == http.MethodPatch {
						last = nil
						if err := json.Unmarshal(call.Body, &last); err != nil {
							t.Fatal(err)
						}
					}
				}
				if !maps.Equal(last, c.wantBody) {
					t.Errorf("last PATCH body %v, want %v", last, c.wantBody)
				}
			}
			if st, _ := em.Status(id); st != c.wantState {
				t.Errorf("status %q, want %q", st, c.wantState)
			}
		})
	}
}

func TestActiveOnAnInvitedUserLeavesTheInvitationAlone(t *testing.T) {
	a, em := setup(t, nil, nil)
	u, err := a.Create(t.Context(), user(1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Update(t.Context(), u.ID, adapters.Change{Active: adapters.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := em.Status(u.ID); st != "invited" || !got.Active {
		t.Errorf("status %q, active %v: want invited and active", st, got.Active)
	}
	if n := em.Calls(upstreamtest.OpUpdate); n != 0 {
		t.Errorf("%d PATCHes sent to an already active user", n)
	}
}

func TestReactivationBeyondThePlanIsASeatLimit(t *testing.T) {
	a, em := setup(t, nil, nil)
	off := user(1)
	off.Active = false
	ids := em.Seed(off, user(2))
	em.SetSeatLimit(1)
	_, err := a.Update(t.Context(), ids[0], adapters.Change{Active: adapters.Ptr(true)})
	if !errors.Is(err, adapters.ErrSeatLimit) {
		t.Fatalf("got %v, want a seat limit", err)
	}
}

func TestVendorAnomaliesAreReportedNotHidden(t *testing.T) {
	cases := []struct {
		name   string
		wrap   func(em *trainualtest.Emulator) http.Handler
		active bool
		ch     adapters.Change
		want   error
		kind   adapters.Kind
		logged string
	}{
		{
			name: "a DELETE that hard-deletes is not found",
			wrap: func(em *trainualtest.Emulator) http.Handler {
				var gone sync.Map
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if _, ok := gone.Load(r.URL.Path); ok {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					if r.Method == http.MethodDelete {
						gone.Store(r.URL.Path, true)
					}
					em.ServeHTTP(w, r)
				})
			},
			active: true, ch: adapters.Change{Active: adapters.Ptr(false)}, kind: adapters.KindNotFound,
			logged: "deleted the user",
		},
		{
			name: "a DELETE that leaves the user active is an internal error",
			wrap: func(em *trainualtest.Emulator) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodDelete {
						w.WriteHeader(http.StatusOK)
						return
					}
					em.ServeHTTP(w, r)
				})
			},
			active: true, ch: adapters.Change{Active: adapters.Ptr(false)}, kind: adapters.KindInternal,
			logged: "not deactivated",
		},
		{
			name: "a reactivation PATCH whose status is dropped is an internal error",
			wrap: func(em *trainualtest.Emulator) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPatch {
						var body map[string]any
						_ = json.NewDecoder(r.Body).Decode(&body)
						delete(body, "status") // what Rails does to an unpermitted parameter
						b, _ := json.Marshal(body)
						r.Body = io.NopCloser(bytes.NewReader(b))
						r.ContentLength = int64(len(b))
					}
					em.ServeHTTP(w, r)
				})
			},
			active: false, ch: adapters.Change{Active: adapters.Ptr(true)}, kind: adapters.KindInternal,
			logged: "kept the user deactivated",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &upstreamtest.LogBuffer{}
			em := trainualtest.New(testKey)
			a := open(t, serve(t, c.wrap(em)), testKey, logs)
			seed := user(1)
			seed.Active = c.active
			id := em.Seed(seed)[0]
			_, err := a.Update(t.Context(), id, c.ch)
			if adapters.KindOf(err) != c.kind {
				t.Fatalf("got %v, want kind %v", err, c.kind)
			}
			if !strings.Contains(logs.String(), c.logged) {
				t.Errorf("logs %q lack %q", logs.String(), c.logged)
			}
		})
	}
}

func TestDuplicateEmailIsAConflictWhetherTrainualAnswers422Or409(t *testing.T) {
	a, em := setup(t, nil, nil)
	em.Seed(user(1))
	_, err := a.Create(t.Context(), user(1))
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("422 variant: got %v, want a conflict", err)
	}

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":"conflict"}`)
	})
	_, err = open(t, serve(t, h), testKey, nil).Create(t.Context(), user(1))
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("409 variant: got %v, want a conflict", err)
	}
}

// ignoreEmail plays a Trainual that ignores the email parameter.
func ignoreEmail(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("email")
		r.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, r)
	})
}

func TestFindByEmail(t *testing.T) {
	cases := []struct {
		name      string
		wrap      func(http.Handler) http.Handler
		target    int // index of the seeded user looked up; -1: an unknown email
		wantLists int // list/find requests sent
	}{
		{"a filtering vendor answers in one page", nil, 55, 1},
		{"a vendor that ignores the filter is walked to page 3", ignoreEmail, 55, 3},
		{"a vendor that ignores the filter is walked to the end for an unknown email", ignoreEmail, -1, 3},
		{"a filtering vendor says not found in one call", nil, -1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, em := setup(t, nil, c.wrap)
			people := make([]adapters.User, 60)
			for i := range people {
				people[i] = user(i)
			}
			ids := em.Seed(people...)
			email := "nobody@example.com"
			if c.target >= 0 {
				email = strings.ToUpper(people[c.target].Email)
			}
			u, err := a.FindByEmail(t.Context(), email)
			if c.target < 0 {
				if !errors.Is(err, adapters.ErrNotFound) {
					t.Fatalf("got %v, want not found", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if u.ID != ids[c.target] || u.Attrs[adapters.AttrTitle] != "Engineer" {
					t.Errorf("found %+v, want id %s read in full", u, ids[c.target])
				}
			}
			if n := em.Calls(upstreamtest.OpList) + em.Calls(upstreamtest.OpFind); n != c.wantLists {
				t.Errorf("%d list requests, want %d", n, c.wantLists)
			}
		})
	}
}

func TestListPages(t *testing.T) {
	cases := []struct {
		name  string
		users int
		page  int
		size  int
		last  bool
	}{
		{"a full first page of three is not the last", 51, 1, 25, false},
		{"a short third page cannot be told from a full one without the total", 51, 3, 1, false},
		{"the page after the end is empty and last", 51, 4, 0, true},
		{"an exactly full last page is known to be last", 50, 2, 25, true},
		{"an empty account has an empty last page", 0, 1, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, em := setup(t, nil, nil)
			for i := range c.users {
				em.Seed(user(i))
			}
			p, err := a.List(t.Context(), adapters.PageRequest{Number: c.page, Size: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Users) != c.size || p.Last != c.last || p.Total != c.users {
				t.Errorf("page %d: %d users, last %v, total %d; want %d, %v, %d", c.page, len(p.Users), p.Last, p.Total, c.size, c.last, c.users)
			}
			for _, u := range p.Users {
				if _, ok := u.Attrs[adapters.AttrTitle]; ok {
					t.Error("a list item without title reports one")
				}
			}
		})
	}
}

func TestIdsThatAreNotTrainualIdsAreNotFoundWithoutACall(t *testing.T) {
	a, em := setup(t, nil, nil)
	for _, id := range []string{"", "abc", "0", "-1", "007", "1/../2", "1?x=y"} {
		_, err := a.Get(t.Context(), id)
		if !errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("get %q: %v, want not found", id, err)
		}
		_, err = a.Update(t.Context(), id, adapters.Change{GivenName: adapters.Ptr("x")})
		if !errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("update %q: %v, want not found", id, err)
		}
	}
	if n := len(em.Log()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestAWrongKeyIsUnauthorizedAndNotQuoted(t *testing.T) {
	em := trainualtest.New(testKey)
	const wrong = "wrong-key-0123456789"
	a := open(t, serve(t, em), wrong, nil)
	_, err := a.Get(t.Context(), "101")
	if !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("got %v, want unauthorized", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Error("the key appears in the error")
	}
}

func TestOpen(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings; nil: success
		notIn   []string
	}{
		{"defaults need only the token", map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "k"}, nil, nil},
		{"a token read from a file may end in a newline", map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "k\n"}, nil, nil},
		{"a missing token is named", map[string]string{}, []string{"SCIM_BRIDGE_UPSTREAM_TOKEN is required"}, nil},
		{
			"every problem is reported at once",
			map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": "ftp://x", "SCIM_BRIDGE_UPSTREAM_TIMEOUT": "soon"},
			[]string{"SCIM_BRIDGE_UPSTREAM_URL", "SCIM_BRIDGE_UPSTREAM_TOKEN", "SCIM_BRIDGE_UPSTREAM_TIMEOUT"}, nil,
		},
		{
			"a URL with credentials is refused without quoting it",
			map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": "https://me:hunter2@app.trainual.com/api/v1", "SCIM_BRIDGE_UPSTREAM_TOKEN": "k"},
			[]string{"SCIM_BRIDGE_UPSTREAM_URL must not contain credentials"}, []string{"hunter2"},
		},
		{
			"a token with a space inside is refused without quoting it",
			map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "abc def"},
			[]string{"SCIM_BRIDGE_UPSTREAM_TOKEN must not contain"}, []string{"abc def"},
		},
		{"a negative timeout is refused", map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "k", "SCIM_BRIDGE_UPSTREAM_TIMEOUT": "-1s"}, []string{"SCIM_BRIDGE_UPSTREAM_TIMEOUT"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := trainual.Open(settings(c.env), adapters.Deps{})
			if c.wantErr == nil {
				if err != nil || a == nil {
					t.Fatalf("open: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("open succeeded")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range c.notIn {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q quotes %q", err, w)
				}
			}
		})
	}
}

func TestSettingsListTheTokenAsSecret(t *testing.T) {
	for _, s := range trainual.Settings {
		if s.Secret != (s.Env == "SCIM_BRIDGE_UPSTREAM_TOKEN") {
			t.Errorf("%s: Secret = %v", s.Env, s.Secret)
		}
	}
	if len(trainual.Settings) != 4 {
		t.Errorf("%d settings, want 4", len(trainual.Settings))
	}
}

func TestInactiveCreateSetting(t *testing.T) {
	for _, tc := range []struct {
		value   string
		refused bool
		problem bool
	}{{"", false, false}, {"deactivate", false, false}, {"REFUSE", true, false}, {"maybe", false, true}} {
		t.Run(tc.value, func(t *testing.T) {
			em := trainualtest.New("k")
			srv := httptest.NewServer(em)
			defer srv.Close()
			a, err := trainual.Open(func(k string) string {
				return map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": em.BaseURL(srv.URL), "SCIM_BRIDGE_UPSTREAM_TOKEN": "k",
					"SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE": tc.value}[k]
			}, adapters.Deps{})
			if tc.problem {
				if err == nil || !strings.Contains(err.Error(), "SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE") {
					t.Fatalf("error %v, want one naming the setting", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := user(1)
			u.Active = false
			_, err = a.Create(t.Context(), u)
			if tc.refused {
				var ae *adapters.Error
				if !errors.As(err, &ae) || ae.Kind != adapters.KindRejected || !strings.Contains(ae.Detail, "invitation") {
					t.Fatalf("error %v, want a rejection that explains the invitation", err)
				}
				if em.Users() != 0 {
					t.Error("a refused create reached Trainual")
				}
				return
			}
			if err != nil || em.Users() != 1 {
				t.Fatalf("create: %v, %d users", err, em.Users())
			}
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	a, _ := setup(b, nil, nil)
	n := 0
	for b.Loop() {
		n++
		if _, err := a.Create(b.Context(), user(n)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	a, em := setup(b, nil, nil)
	id := em.Seed(user(1))[0]
	for b.Loop() {
		if _, err := a.Get(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }
