package provision

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// Core SCIM paths every vendor holds. The vendor e-mail is fed from pathUserName or from an e-mail, by EmailFrom.
const (
	pathUserName   = "userName"
	pathGivenName  = "name.givenName"
	pathFamilyName = "name.familyName"
	pathActive     = "active"
	pathEmails     = "emails"
)

// EmailFrom says where the vendor e-mail (the vendor's login) comes from.
type EmailFrom string

// The sources of the vendor e-mail.
const (
	// EmailFromUserName uses userName: the IdPs' default, where the userName is the mailbox.
	EmailFromUserName EmailFrom = "userName"
	// EmailFromWork uses emails[type eq "work"].value: for tenants whose userName (Entra's userPrincipalName) is
	// not the mailbox.
	EmailFromWork EmailFrom = "work"
	// EmailFromPrimary uses the e-mail marked primary, else the first one.
	EmailFromPrimary EmailFrom = "primary"
)

// ParseEmailFrom validates a setting value.
func ParseEmailFrom(s string) (EmailFrom, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "username":
		return EmailFromUserName, true
	case "work":
		return EmailFromWork, true
	case "primary":
		return EmailFromPrimary, true
	}
	return "", false
}

// mapper turns SCIM resources into vendor users and back, for one adapter's attribute paths.
type mapper struct {
	paths       []string // optional attribute paths the adapter holds (adapters.Adapter.Attributes)
	emailFrom   EmailFrom
	deriveNames bool
}

// vendorEmail is the e-mail the vendor should hold for res; "" when the configured source is missing. There is no
// fallback to userName: where the userName is not a mailbox, inviting it would send the vendor's invitation (and
// the person's login) to an address nobody reads.
func (m mapper) vendorEmail(res map[string]any) string {
	switch m.emailFrom {
	case EmailFromWork:
		return emailOf(res, "work")
	case EmailFromPrimary:
		return emailOf(res, "")
	}
	return getString(res, pathUserName)
}

// desired is the vendor user a SCIM resource asks for, with exactly the attribute paths the adapter holds. For a
// create, missing names are derived (derive) so that a vendor that requires them accepts the person.
func (m mapper) desired(res map[string]any, derive bool) adapters.User {
	u := adapters.User{
		Email:      m.vendorEmail(res),
		GivenName:  getString(res, pathGivenName),
		FamilyName: getString(res, pathFamilyName),
		Active:     activeOf(res),
		Attrs:      map[string]string{},
	}
	for _, p := range m.paths {
		s := getString(res, p)
		if s == "" && fallbacks[p] != "" {
			s = getString(res, fallbacks[p])
		}
		if s != "" {
			u.Attrs[p] = s
		}
	}
	if derive && m.deriveNames {
		u.GivenName, u.FamilyName = deriveNames(res, u.GivenName, u.FamilyName, u.Email)
	}
	return u
}

// fallbacks feed an attribute the IdP did not send from a related one: Okta's default profile sends locale but
// no preferredLanguage, and a vendor with one language field should get it (RFC 7643 §4.1.1 relates the two).
var fallbacks = map[string]string{adapters.AttrPreferredLanguage: adapters.AttrLocale}

// deriveNames fills missing names from name.formatted, then displayName, then the e-mail's local part. Entra
// service accounts, rooms and generic SCIM test suites often send no name, and Trainual refuses a person without
// both. Only the vendor gets derived names; the SCIM resource keeps what the IdP sent.
func deriveNames(res map[string]any, given, family, email string) (string, string) {
	if given != "" && family != "" {
		return given, family
	}
	for _, src := range []string{getString(res, "name.formatted"), getString(res, "displayName")} {
		words := strings.Fields(src)
		switch {
		case len(words) >= 2:
			return fill(given, strings.Join(words[:len(words)-1], " ")), fill(family, words[len(words)-1])
		case len(words) == 1:
			return fill(given, words[0]), fill(family, words[0])
		}
	}
	local, _, _ := strings.Cut(email, "@")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	switch {
	case len(parts) >= 2:
		return fill(given, parts[0]), fill(family, strings.Join(parts[1:], " "))
	case len(parts) == 1:
		return fill(given, parts[0]), fill(family, parts[0])
	}
	return given, family
}

func fill(have, derived string) string {
	if have != "" {
		return have
	}
	return derived
}

// activeOf reads active; a resource without it is active (RFC 7643 gives no default, and both IdPs send it).
func activeOf(res map[string]any) bool {
	v, ok := getValue(res, pathActive)
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
	if !ok || v == nil {
		return false
	}
	if s, ok := v.(string); ok {
		return s != ""
	}
	return true
}

// ownership is the set of attribute paths the IdP has written for a person (lower-cased SCIM paths). Only what the
// IdP owns is ever cleared in the vendor: a value set in the vendor's own UI that the IdP never sent survives
// every PUT, PATCH and linking POST.
type ownership map[string]bool

func (o ownership) has(path string) bool { return o[strings.ToLower(path)] }

// paths lists the owned paths, as a PATCH would name them.
func (o ownership) paths() []string {
	out := make([]string, 0, len(o))
	for p := range o {
		out = append(out, p)
	}
	return out
}
func (o ownership) set(path string, on bool) {
	if on {
		o[strings.ToLower(path)] = true
	} else {
		delete(o, strings.ToLower(path))
	}
}

// writeKind says how a request states the IdP's wishes.
type writeKind int

const (
	// writeWhole is a POST or PUT: the body is the IdP's whole desired state (RFC 7644 §3.5.1).
	writeWhole writeKind = iota
	// writePartial is a PATCH: only the paths its operations name are the IdP's.
	writePartial
)

// plan is the Change that makes vendor user v hold what the IdP asks in next, and the ownership after it.
//   - A path the IdP sends a value for (a whole write, or a path a PATCH names) is owned, and the vendor gets it
//     when it differs: the IdP's value wins over an edit made in the vendor's UI.
//   - A path the IdP owned and now leaves out (a PUT without it, a PATCH removing it) is cleared in the vendor and
//     is no longer owned.
//   - Any other vendor value is left alone.
//
// Names and the e-mail are never cleared (vendors require them), and active is only set when the IdP sends it.
//
// rules (from ruleValues) are the values group rules decide; they win over the IdP's for their attributes.
func (m mapper) plan(v adapters.User, next map[string]any, before ownership, kind writeKind, touched []string, rules map[string]*string) (adapters.Change, ownership) {
	after := ownership{}
	for k := range before {
		after[k] = true
	}
	names := func(p string) bool {
		return kind == writeWhole || touchesAny(touched, p) || (fallbacks[p] != "" && touchesAny(touched, fallbacks[p]))
	}
	want := m.desired(next, false)
	var ch adapters.Change

	// The e-mail comes from userName or an e-mail, both always the IdP's.
	emailPath := pathUserName
	if m.emailFrom != EmailFromUserName {
		emailPath = pathEmails
	}
	if names(emailPath) || names(pathUserName) {
		if want.Email != "" && !strings.EqualFold(want.Email, v.Email) {
			ch.Email = adapters.Ptr(want.Email)
		}
	}
	for _, f := range []struct {
		path      string
		want, cur string
		dst       **string
	}{
		{pathGivenName, want.GivenName, v.GivenName, &ch.GivenName},
		{pathFamilyName, want.FamilyName, v.FamilyName, &ch.FamilyName},
	} {
		if !names(f.path) || f.want == "" {
			continue
		}
		after.set(f.path, true)
		if f.want != f.cur {
			*f.dst = adapters.Ptr(f.want)
		}
	}
	if names(pathActive) && hasValue(next, pathActive) {
		after.set(pathActive, true)
		if want.Active != v.Active {
			ch.Active = adapters.Ptr(want.Active)
		}
	}
	for _, p := range m.paths {
		if !names(p) {
			continue
		}
		w, sent := want.Attrs[p]
		cur, held := v.Attrs[p]
		switch {
		case sent:
			after.set(p, true)
			if held && cur == w {
				continue
			}
			setAttr(&ch, p, &w)
		case before.has(p):
			after.set(p, false)
			if held && cur == "" {
				continue
			}
			setAttr(&ch, p, nil)
		}
	}
	for p, w := range rules {
		if ch.Attrs != nil {
			delete(ch.Attrs, p)
		}
		cur, held := v.Attrs[p]
		switch {
		case w != nil && (!held || cur != *w):
			setAttr(&ch, p, w)
		case w == nil && (!held || cur != ""):
			setAttr(&ch, p, nil)
		}
	}
	return ch, after
}

// idpSends reports, for the group rules, whether the IdP itself gives path a value in next: one this request
// sends, or one it wrote before. A PATCH's next starts from the rendered user, so it also holds the vendor's values
// of paths the IdP never wrote, a rule's value among them; taken for the IdP's, that value would outlive the rule.
func idpSends(next map[string]any, before ownership, kind writeKind, touched []string) func(string) bool {
	return func(p string) bool {
		return hasValue(next, p) && (kind == writeWhole || before.has(p) || touchesAny(touched, p))
	}
}

func setAttr(ch *adapters.Change, path string, v *string) {
	if ch.Attrs == nil {
		ch.Attrs = map[string]*string{}
	}
	ch.Attrs[path] = v
}

// touchesAny reports whether one of a PATCH's operation paths names path (or a container or member of it).
func touchesAny(touched []string, path string) bool {
	pc, pa, ps := splitPath(strings.ToLower(path))
	for _, t := range touched {
		tc, ta, ts := splitPath(strings.ToLower(stripFilters(t)))
		if ta == "" {
			// A pathless operation: the normaliser expands them, so this one names a whole extension or the
			// resource; count it as naming everything under its container.
			if tc == "" || tc == pc {
				return true
			}
			continue
		}
		if tc == pc && ta == pa && (ts == "" || ps == "" || ts == ps) {
			return true
		}
		// "roles" is held as the primary role's value: any operation on roles names it.
		if tc == "" && pc == "" && ta == pa {
			return true
		}
	}
	return false
}

// stripFilters removes value filters: emails[type eq "work"].value -> emails.value.
func stripFilters(p string) string {
	var b strings.Builder
	depth := 0
	for _, r := range p {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// emailOf returns the e-mail of type typ ("" for the primary one, else the first).
func emailOf(res map[string]any, typ string) string {
	k, ok := lookupKey(res, pathEmails)
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
		if typ != "" {
			if strings.EqualFold(getString(em, "type"), typ) {
				return v
			}
			continue
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

// workEmail is the value the store indexes for emails[type eq "work"].value lookups.
func workEmail(res map[string]any) string {
	if e := emailOf(res, "work"); e != "" {
		return e
	}
	return emailOf(res, "")
}

// linkData is what the store's opaque Extras holds for a user.
type linkData struct {
	// Resource is the SCIM resource as the IdP last wrote it, without id, meta, schemas and password. Attributes
	// the vendor holds are shown from the vendor; the others from here.
	Resource map[string]any `json:"resource"`
	// Seen is the vendor user as the bridge last read or wrote it: what a lookup answered from the store shows,
	// and what fills in a vendor listing that does not carry every field.
	Seen seenUser `json:"seen"`
	// Owned lists the paths the IdP has written. Absent in links written before ownership was recorded: then
	// only the core attributes count as the IdP's, so nothing a vendor admin set can be cleared by mistake.
	Owned []string `json:"owned"`
	// Derived is set when the vendor's names were derived because the IdP sent none: the SCIM view then keeps
	// the IdP's (absent) names instead of showing the derived ones.
	Derived bool `json:"derived,omitempty"`
	// Retired is set on a tombstone whose vendor account is gone (deleted in the vendor): it is never revived.
	Retired bool `json:"retired,omitempty"`
	// RuleOwned lists the attributes a group rule set: when no rule applies any more they are cleared (or get the
	// "*" rule's value), even though the IdP never wrote them.
	RuleOwned []string `json:"ruleOwned,omitempty"`
}

func (d linkData) ownership() ownership {
	o := ownership{}
	if d.Owned == nil {
		for _, p := range []string{pathUserName, pathGivenName, pathFamilyName, pathActive} {
			o.set(p, true)
		}
		return o
	}
	for _, p := range d.Owned {
		o.set(p, true)
	}
	return o
}

func (d *linkData) setOwnership(o ownership) { d.Owned = o.paths() }

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
		dec := json.NewDecoder(bytes.NewReader(b))
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

// render builds the SCIM attributes of a user: the vendor is the truth for everything it holds (names, state, the
// attributes in v.Attrs), the IdP's copy for the rest. A vendor listing item that lacks a field leaves the IdP's
// copy (or what the bridge last saw) in place.
func (m mapper) render(d linkData, v adapters.User) map[string]any {
	res := copyMap(d.Resource)
	if m.emailFrom == EmailFromUserName && v.Email != "" && !strings.EqualFold(v.Email, getString(res, pathUserName)) {
		res[pathUserName] = v.Email
	}
	if !d.Derived || hasValue(res, pathGivenName) || hasValue(res, pathFamilyName) {
		if v.GivenName != "" || hasValue(res, pathGivenName) {
			setString(res, pathGivenName, v.GivenName)
		}
		if v.FamilyName != "" || hasValue(res, pathFamilyName) {
			setString(res, pathFamilyName, v.FamilyName)
		}
	}
	res[pathActive] = v.Active
	for k, val := range v.Attrs {
		setString(res, k, val)
	}
	return res
}

// unclaimed reports whether the link was made by a lookup for an account no IdP has written to yet.
func (d linkData) unclaimed() bool { return d.Owned != nil && len(d.Owned) == 0 }

// adopted is the SCIM view of a vendor user no IdP has written yet (made in the vendor's own UI); the IdP owns
// nothing of it yet.
func adopted(v adapters.User) linkData {
	res := map[string]any{
		pathUserName: v.Email,
		pathActive:   v.Active,
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
		res[pathEmails] = []any{map[string]any{"value": v.Email, "type": "work", "primary": true}}
	}
	for k, val := range v.Attrs {
		setString(res, k, val)
	}
	return linkData{Resource: res, Seen: seenOf(v), Owned: []string{}}
}

// ignored lists the fields of ch that the vendor's answer v does not hold as sent: a vendor that silently drops a
// field (an undefined custom-field key, an unpermitted parameter) must not be reported as having stored it.
func ignored(ch adapters.Change, v adapters.User) []string {
	var out []string
	if ch.Email != nil && !strings.EqualFold(*ch.Email, v.Email) {
		out = append(out, "email")
	}
	if ch.GivenName != nil && *ch.GivenName != v.GivenName {
		out = append(out, pathGivenName)
	}
	if ch.FamilyName != nil && *ch.FamilyName != v.FamilyName {
		out = append(out, pathFamilyName)
	}
	if ch.Active != nil && *ch.Active != v.Active {
		out = append(out, pathActive)
	}
	for k, want := range ch.Attrs {
		got, held := v.Attrs[k]
		if !held {
			continue // not reported back (e.g. locale, which feeds the language): nothing to compare
		}
		if (want == nil && got != "") || (want != nil && *want != got) {
			out = append(out, k)
		}
	}
	return out
}
