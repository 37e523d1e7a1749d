package trainual

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

func TestToUser(t *testing.T) {
	cases := []struct {
		name      string
		json      string
		full      bool
		wantID    string
		active    bool
		wantAttrs map[string]string
	}{
		{
			name: "a full object with null attributes reports them empty",
			json: `{"id":101,"email":"a@example.com","first_name":"A","last_name":"B","title":null,"department":"Ops","role":null,"status":"active"}`,
			full: true, wantID: "101", active: true,
			wantAttrs: map[string]string{adapters.AttrTitle: "", adapters.AttrDepartment: "Ops", adapters.AttrRole: ""},
		},
		{
			name: "an invited user is active",
			json: `{"id":7,"status":"invited"}`, full: true, wantID: "7", active: true,
			wantAttrs: map[string]string{adapters.AttrTitle: "", adapters.AttrDepartment: "", adapters.AttrRole: ""},
		},
		{
			name: "a deactivated user is inactive whatever the case",
			json: `{"id":7,"status":"Deactivated"}`, full: true, wantID: "7", active: false,
			wantAttrs: map[string]string{adapters.AttrTitle: "", adapters.AttrDepartment: "", adapters.AttrRole: ""},
		},
		{
			name: "a list item reports only the attributes it holds",
			json: `{"id":"202","email":"a@example.com","title":"Lead"}`, full: false, wantID: "202", active: true,
			wantAttrs: map[string]string{adapters.AttrTitle: "Lead"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tu trainualUser
			if err := json.Unmarshal([]byte(c.json), &tu); err != nil {
				t.Fatal(err)
			}
			u := tu.toUser(c.full)
			if u.ID != c.wantID || u.Active != c.active || !maps.Equal(u.Attrs, c.wantAttrs) {
				t.Errorf("got id %s active %v attrs %v; want %s %v %v", u.ID, u.Active, u.Attrs, c.wantID, c.active, c.wantAttrs)
			}
		})
	}
}

func TestAnIDThatIsNotAnIntegerIsADecodeError(t *testing.T) {
	for _, in := range []string{`{"id":"abc"}`, `{"id":1.5}`, `{"id":true}`} {
		var tu trainualUser
		if err := json.Unmarshal([]byte(in), &tu); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"2024-03-01T12:30:00Z":          want,
		"2024-03-01T12:30:00.000Z":      want,
		"2024-03-01T07:30:00.000-05:00": want,
		"2024-03-01T07:30:00-0500":      want,
		"":                              {},
		"yesterday":                     {},
	}
	for in, w := range cases {
		if got := parseTime(in); !got.Equal(w) {
			t.Errorf("parseTime(%q) = %v, want %v", in, got, w)
		}
	}
}

func TestPatchBodyHoldsOnlyTheFieldsTheChangeSets(t *testing.T) {
	b, ok := patchBody(adapters.Change{
		FamilyName: adapters.Ptr("X"),
		Active:     adapters.Ptr(false),
		Attrs:      map[string]*string{adapters.AttrRole: nil, adapters.AttrLocale: adapters.Ptr("fr")},
	})
	want := map[string]any{"last_name": "X", "role": ""}
	if !ok || !maps.Equal(b, want) {
		t.Errorf("patchBody = %v, %v; want %v", b, ok, want)
	}
	if _, ok := patchBody(adapters.Change{Active: adapters.Ptr(true)}); ok {
		t.Error("a change of Active alone produced a field PATCH")
	}
}
