package provision

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// attrPaths are the optional SCIM attributes handed to adapters in User.Attrs. An adapter keeps the ones its vendor
// holds (or that its configuration routes to a custom field) and ignores the rest.
var attrPaths = []string{
	adapters.AttrTitle,
	adapters.AttrPreferredLanguage,
	adapters.AttrLocale,
	adapters.AttrExternalID,
	adapters.AttrRole,
	"displayName",
	"nickName",
	"userType",
	"profileUrl",
	"timezone",
	adapters.AttrDepartment,
	adapters.AttrEmployeeNumber,
	adapters.AttrCostCenter,
	adapters.AttrOrganization,
	adapters.AttrDivision,
	adapters.EnterpriseURN + ":manager.value",
}

// desired is the vendor user a SCIM resource asks for. Missing core fields stay empty; callers decide whether
// empty means "clear" or "leave".
func desired(res map[string]any) adapters.User {
	u := adapters.User{
		Email:      getString(res, "userName"),
		GivenName:  getString(res, "name.givenName"),
		FamilyName: getString(res, "name.familyName"),
		Active:     activeOf(res),
		Attrs:      map[string]string{},
	}
	for _, p := range attrPaths {
		if s := getString(res, p); s != "" {
			u.Attrs[p] = s
		}
	}
	return u
}

// activeOf reads active; a resource without it is active (RFC 7643 gives no default, and both IdPs send it).
func activeOf(res map[string]any) bool {
	v, ok := getValue(res, "active")
	if !ok {
		return true
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return !strings.EqualFold(b, "false")
	}
	return true
}

func hasValue(res map[string]any, path string) bool {
	v, ok := getValue(res, path)
	return ok && v != nil
}

// diff is the Change that carries what the IdP changed, from the resource it saw (old, which already shows the
// vendor's own edits) to the one it wants (res), to the vendor user v. Core fields the resource does not carry are
// left alone (a vendor may require them). Optional attributes go only where the vendor holds them (the keys of
// v.Attrs) and only when the IdP changed them, so a vendor value the IdP never wrote (a language set in the
// vendor's UI, a custom field) is never cleared as a side effect.
func diff(v adapters.User, old, res map[string]any) adapters.Change {
	want, was := desired(res), desired(old)
	var ch adapters.Change
	if hasValue(res, "userName") && want.Email != v.Email {
		ch.Email = adapters.Ptr(want.Email)
	}
	if hasValue(res, "name.givenName") && want.GivenName != v.GivenName {
		ch.GivenName = adapters.Ptr(want.GivenName)
	}
	if hasValue(res, "name.familyName") && want.FamilyName != v.FamilyName {
		ch.FamilyName = adapters.Ptr(want.FamilyName)
	}
	if hasValue(res, "active") && want.Active != v.Active {
		ch.Active = adapters.Ptr(want.Active)
	}
	for k, cur := range v.Attrs {
		w := want.Attrs[k]
		if w == was.Attrs[k] || w == cur {
			continue
		}
		if ch.Attrs == nil {
			ch.Attrs = map[string]*string{}
		}
		if w == "" {
			ch.Attrs[k] = nil
		} else {
			ch.Attrs[k] = adapters.Ptr(w)
		}
	}
	return ch
}

// workEmail is the value the store indexes for emails[type eq "work"].value lookups.
func workEmail(res map[string]any) string {
	k, ok := lookupKey(res, "emails")
	if !ok {
		return ""
	}
	list, _ := res[k].([]any)
	var primary, first string
	for _, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		v := getString(em, "value")
		if v == "" {
			continue
		}
		if strings.EqualFold(getString(em, "type"), "work") {
			return v
		}
		if p, _ := getValue(em, "primary"); p == true && primary == "" {
			primary = v
		}
		if first == "" {
			first = v
		}
	}
	if primary != "" {
		return primary
	}
	return first
}

// linkData is what the store's opaque Extras holds for a user.
type linkData struct {
	// Resource is the SCIM resource as the IdP last wrote it, without id, meta, schemas and password.
	Resource map[string]any `json:"resource"`
	// Seen is the vendor user as the bridge last read or wrote it; a vendor value that differs from it was changed
	// outside the bridge (in the vendor's UI) and wins over the IdP's copy.
	Seen seenUser `json:"seen"`
}

type seenUser struct {
	Email      string            `json:"email"`
	GivenName  string            `json:"givenName"`
	FamilyName string            `json:"familyName"`
	Active     bool              `json:"active"`
	Attrs      map[string]string `json:"attrs,omitempty"`
	Created    time.Time         `json:"created"`
	Updated    time.Time         `json:"updated"`
}

func seenOf(u adapters.User) seenUser {
	return seenUser{Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Active: u.Active, Attrs: u.Attrs,
		Created: u.Created, Updated: u.Updated}
}

func (s seenUser) user(id string) adapters.User {
	return adapters.User{ID: id, Email: s.Email, GivenName: s.GivenName, FamilyName: s.FamilyName, Active: s.Active,
		Attrs: s.Attrs, Created: s.Created, Updated: s.Updated}
}

func decodeLinkData(b []byte) linkData {
	var d linkData
	if len(b) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		_ = dec.Decode(&d)
	}
	if d.Resource == nil {
		d.Resource = map[string]any{}
	}
	return d
}

func (d linkData) encode() []byte {
	b, _ := json.Marshal(d)
	return b
}

// render builds the SCIM attributes of a user from what the IdP wrote (d.Resource) and the vendor's current view
// v: the IdP reads back exactly what it wrote, except where the vendor's value changed since the bridge last saw it.
func render(d linkData, v adapters.User) map[string]any {
	res := copyMap(d.Resource)
	seen := d.Seen
	if v.Email != seen.Email && v.Email != "" && !strings.EqualFold(v.Email, getString(res, "userName")) {
		res["userName"] = v.Email
	}
	if v.GivenName != seen.GivenName {
		setString(res, "name.givenName", v.GivenName)
	}
	if v.FamilyName != seen.FamilyName {
		setString(res, "name.familyName", v.FamilyName)
	}
	if v.Active != seen.Active || !hasValue(res, "active") {
		res["active"] = v.Active
	}
	for k, val := range v.Attrs {
		if old, ok := seen.Attrs[k]; !ok || old != val {
			setString(res, k, val)
		}
	}
	return res
}

// adopted is the SCIM view of a vendor user no IdP has written yet (made in the vendor's own UI).
func adopted(v adapters.User) linkData {
	res := map[string]any{
		"userName": v.Email,
		"active":   v.Active,
	}
	if v.GivenName != "" || v.FamilyName != "" {
		name := map[string]any{}
		if v.GivenName != "" {
			name["givenName"] = v.GivenName
		}
		if v.FamilyName != "" {
			name["familyName"] = v.FamilyName
		}
		res["name"] = name
	}
	if v.Email != "" {
		res["emails"] = []any{map[string]any{"value": v.Email, "type": "work", "primary": true}}
	}
	for k, val := range v.Attrs {
		setString(res, k, val)
	}
	return linkData{Resource: res, Seen: seenOf(v)}
}
