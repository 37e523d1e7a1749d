package filter

import (
	"testing"
	"time"
)

func TestGroupFilter(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := GroupView{ID: "g1", DisplayName: "Trainual Admins", ExternalID: "00gABC", Created: created, Modified: created,
		IsMember: func(u string) bool { return u == "u1" }, HasMembers: func() bool { return true }}
	for _, tc := range []struct {
		filter string
		match  bool
		lookup string
	}{
		{`displayName eq "trainual admins"`, true, "displayName=trainual admins"},
		{`displayName eq "Ops"`, false, "displayName=Ops"},
		{`externalId eq "00gabc"`, false, "externalId=00gabc"},
		{`externalId eq "00gABC"`, true, "externalId=00gABC"},
		{`id eq "g1" and members[value eq "u1"]`, true, "id=g1"},
		{`id eq "g1" and members[value eq "u2"]`, false, "id=g1"},
		{`members eq "u1"`, true, ""},
		{`members.value eq "u1"`, true, ""},
		{`members pr`, true, ""},
		{`displayName sw "Train" or displayName eq "x"`, true, ""},
		{`not (displayName co "Admin")`, false, ""},
		{`meta.created gt "2026-01-01T00:00:00Z"`, true, ""},
		{`meta.resourceType eq "Group"`, true, ""},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ParseGroup(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(g); got != tc.match {
				t.Errorf("Match = %v", got)
			}
			a, v, ok := f.Lookup()
			got := ""
			if ok {
				got = a + "=" + v
			}
			if got != tc.lookup {
				t.Errorf("Lookup = %q, want %q", got, tc.lookup)
			}
		})
	}
	for _, bad := range []string{`userName eq "x"`, `members[display eq "x"]`, `members gt "x"`, `displayName eq`, ``,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`} {
		if _, err := ParseGroup(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
