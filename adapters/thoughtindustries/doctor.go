package thoughtindustries

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
)

// The test person's values: recognisable in the admin portal as the doctor's, and harmless (no role, no ssoId and
// no password are ever sent, so the test person can neither be made an admin nor be linked to anyone's SSO login).
const (
	testFirstName   = "Scim-Bridge"
	testLastName    = "Doctor"
	testLanguage    = "en"
	testCustomValue = "scim-bridge doctor check"
)

// scimNames are the SCIM attributes behind the vendor's fields, for advice a deployer can act on.
var scimNames = map[string]string{
	fieldFirstName: "name.givenName",
	fieldLastName:  "name.familyName",
	fieldLanguage:  "preferredLanguage",
	fieldActive:    "active",
	fieldEmail:     "userName",
}

// Doctor observes every item of Assumptions on the tenant the settings point at, through the adapter's own client,
// and reports what holds. It returns an error only for invalid settings; a refused key, an unreachable tenant or a
// test e-mail that is taken end the run early and are in the report (Aborted).
func Doctor(ctx context.Context, get func(string) string, deps adapters.Deps, opts doctor.Options) (doctor.Report, error) {
	s := doctor.NewSession(Assumptions(), opts, deps.HTTP)
	deps.HTTP = s.HTTP()
	a, err := Open(get, deps)
	if err != nil {
		return doctor.Report{}, err
	}
	var ad *adapter
	switch x := a.(type) {
	case *adapter:
		ad = x
	case *deletingAdapter:
		ad = x.adapter
	}
	s.Redact(ad.cfg.token.Reveal())
	c := &checkup{s: s, a: ad, total: -1}
	c.run(ctx)
	return s.Report(name, ad.cfg.baseURL), nil
}

// checkup is one doctor run against Thought Industries.
type checkup struct {
	s *doctor.Session
	a *adapter

	total int // total of the first page, -1 when absent
	page1 []tiUser
	size  int // users a page at per_page=maxPerPage, 0 when unknown
	known *tiUser
}

func (c *checkup) run(ctx context.Context) {
	if len(c.a.cfg.customFields) == 0 {
		c.s.Holds(idCustomFields, fmt.Sprintf("none configured (%s is empty)", EnvCustomFields))
	}
	if !c.firstPage(ctx) {
		return
	}
	if !c.s.Decided(idListPageSize) {
		c.paging(ctx)
	}
	if c.known != nil {
		c.lookup(ctx, c.known.Email, string(c.known.ID))
		c.read(ctx, string(c.known.ID))
	}
	if email := c.s.TestUser(); email != "" {
		c.walk(ctx, email)
	}
	for _, id := range []string{idFindEmailParam, idFindEmailCase, idGetEnvelope} {
		if !c.s.Decided(id) && !c.s.Aborted() {
			c.s.Skip(id, "the listing gave no person to look up; --write-test-user EMAIL checks it with the test person")
		}
	}
	// Every answer so far counts, even when the walk stopped early.
	c.s.CheckRateLimit(idRateLimit, "docs/thoughtindustries.md")
}

// call sends one request through the adapter's own client, so that base URL, credentials, timeouts and error
// classification are exactly serve's; the raw answer comes back in the exchange.
func (c *checkup) call(ctx context.Context, method, path string, q url.Values, body any) (doctor.Exchange, error) {
	return c.s.Send(ctx, c.a.c, method, path, q, body)
}

// list asks for one page; perPage 0 sends no per_page.
func (c *checkup) list(ctx context.Context, page, perPage int, email string) (doctor.Exchange, []tiUser, *int, error) {
	q := url.Values{paramPage: {strconv.Itoa(page)}}
	if perPage > 0 {
		q.Set(paramPerPage, strconv.Itoa(perPage))
	}
	if email != "" {
		q.Set(paramEmail, email)
	}
	ex, err := c.call(ctx, http.MethodGet, pathUsers, q, nil)
	if err != nil {
		return ex, nil, nil, err
	}
	users, total, derr := decodeList(ex.Body)
	return ex, users, total, derr
}

func decodeList(body []byte) ([]tiUser, *int, error) {
	var top map[string]json.RawMessage
	var items []json.RawMessage
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top[envelopeUsers], &items) != nil || items == nil {
		return nil, nil, fmt.Errorf("the answer is not the listing envelope (%s)", doctor.Shape(body))
	}
	users := make([]tiUser, 0, len(items))
	for _, raw := range items {
		var t tiUser
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, nil, fmt.Errorf("a listed user has a field of an unexpected type")
		}
		users = append(users, t)
	}
	var total *int
	if raw, ok := top[keyTotal]; ok {
		var n int
		if json.Unmarshal(raw, &n) == nil {
			total = &n
		}
	}
	return users, total, nil
}

// firstPage is the first call: it proves the key and the base URL, and shows the envelope and the default size.
func (c *checkup) firstPage(ctx context.Context) bool {
	ex, err := c.call(ctx, http.MethodGet, pathUsers, url.Values{paramPage: {"1"}}, nil)
	base := c.a.cfg.baseURL
	switch {
	case ex.Status == 0:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort(fmt.Sprintf("Thought Industries could not be reached at %s (%v): check %s or %s, DNS, proxy and firewall", base, err, EnvSubdomain, EnvUpstreamURL))
		return false
	case ex.Status == http.StatusUnauthorized || ex.Status == http.StatusForbidden:
		c.s.Fails(idAuth, doctor.Describe(ex, err), fmt.Sprintf("Check %s (Settings > Integrations > API in the admin portal). The bridge sends the key only in the %s header; "+
			"if your tenant accepts it only as the apiKey query parameter, report it.", EnvUpstreamToken, headerAPIKey))
		c.s.Abort("Thought Industries refused the API key")
		return false
	case ex.Status == http.StatusNotFound:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort(fmt.Sprintf("GET %s%s answered 404: check %s or %s", base, pathUsers, EnvSubdomain, EnvUpstreamURL))
		return false
	case err != nil:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort("Thought Industries answered the first listing with " + doctor.Describe(ex, err) + ": try again later")
		return false
	}
	c.s.Holds(idAuth, fmt.Sprintf("HTTP %d to GET %s with the key in %s", ex.Status, pathUsers, headerAPIKey))

	users, total, derr := decodeList(ex.Body)
	if derr != nil {
		c.s.Fails(idListEnvelope, doctor.Shape(ex.Body), fmt.Sprintf("The bridge would read every listing as empty: it would miss people who exist and try to "+
			"create them again. Report the answer's shape; the envelope is listEnvelope (%q, %q) in adapters/thoughtindustries/wire.go.", envelopeUsers, keyTotal))
		for _, id := range []string{idListPageSize, idListPerPage, idListLastPage, idFindEmailParam, idFindEmailCase} {
			c.s.Skip(id, "the listing is not in the expected shape")
		}
		return true
	}
	incomplete := 0
	for _, u := range users {
		if u.ID == "" || strings.TrimSpace(u.Email) == "" {
			incomplete++
			continue
		}
		c.page1 = append(c.page1, u)
		if c.known == nil {
			c.known = &u
		}
	}
	if total != nil {
		c.total = *total
	}
	obs := fmt.Sprintf("%q: %d items with %s; %q %s", envelopeUsers, len(users), doctor.ItemKeys(ex.Body, envelopeUsers), keyTotal, doctor.Number(total))
	switch {
	case incomplete > 0:
		c.s.Fails(idListEnvelope, obs+fmt.Sprintf("; %d items lack %s or %s", incomplete, fieldID, fieldEmail),
			"The bridge finds and links people by the id and e-mail of listed items. Report the item shape (fields live in adapters/thoughtindustries/wire.go).")
	case total == nil:
		c.s.Differs(idListEnvelope, obs, fmt.Sprintf("The bridge copes: without %q it stops at the first page shorter than %d. Report it so docs/thoughtindustries.md is corrected.", keyTotal, maxPerPage))
	default:
		c.s.Holds(idListEnvelope, obs)
	}
	return true
}

// paging judges the default page size, then per_page and offset paging, then the page past the end.
func (c *checkup) paging(ctx context.Context) {
	n1 := len(c.page1)
	if n1 == 0 {
		for _, id := range []string{idListPageSize, idListPerPage, idListLastPage} {
			c.s.Skip(id, "the tenant has no users")
		}
		return
	}
	onePage := c.total >= 0 && c.total <= n1
	switch {
	case onePage && n1 <= AssumedDefaultPerPage:
		c.s.Holds(idListPageSize, fmt.Sprintf("all %d users on one page without %s (the default shows only with more than %d users)", n1, paramPerPage, AssumedDefaultPerPage))
	case !onePage && n1 == AssumedDefaultPerPage:
		c.s.Holds(idListPageSize, fmt.Sprintf("%d users a page without %s", n1, paramPerPage))
	default:
		c.s.Differs(idListPageSize, fmt.Sprintf("%d users on the first page without %s (%q %d)", n1, paramPerPage, keyTotal, c.total),
			fmt.Sprintf("The bridge copes: it always sends %s=%d. Report the default so docs/thoughtindustries.md and the emulator (titest.DefaultPerPage) match.", paramPerPage, maxPerPage))
	}

	ex, big, _, err := c.list(ctx, 1, maxPerPage, "")
	if err != nil {
		c.s.Fails(idListPerPage, fmt.Sprintf("%s=%d: %s", paramPerPage, maxPerPage, doctor.Describe(ex, err)),
			fmt.Sprintf("The bridge lists with %s=%d and would fail. Report the answer; the maximum is maxPerPage in adapters/thoughtindustries/wire.go.", paramPerPage, maxPerPage))
		c.s.Skip(idListLastPage, "the listing failed")
		return
	}
	m := len(big)
	// Without a total, a short page cannot tell a small tenant from a small maximum: only offset paging is judged.
	want := min(m, maxPerPage)
	if c.total >= 0 {
		want = min(c.total, maxPerPage)
	}
	c.size = m
	switch {
	case m > maxPerPage:
		c.s.Fails(idListPerPage, fmt.Sprintf("%s=%d gives %d users", paramPerPage, maxPerPage, m),
			fmt.Sprintf("Thought Industries ignores %s: the bridge's page arithmetic would skip or repeat people. Report it.", paramPerPage))
		c.s.Skip(idListLastPage, "the page size is not the one asked for")
		return
	case m < want:
		c.s.Fails(idListPerPage, fmt.Sprintf("%s=%d gives %d users (%q %d)", paramPerPage, maxPerPage, m, keyTotal, c.total),
			fmt.Sprintf("The tenant serves at most %d a page, but the bridge asks for %d and reads a shorter page as the last: listings would stop after %d people. "+
				"Report it; maxPerPage in adapters/thoughtindustries/wire.go must become %d.", m, maxPerPage, m, m))
	case m < 2:
		c.s.Skip(idListPerPage, "too few users to see paging")
	default:
		ex, one, _, err := c.list(ctx, 2, 1, "")
		switch {
		case err != nil:
			c.s.Fails(idListPerPage, fmt.Sprintf("%s=2&%s=1: %s", paramPage, paramPerPage, doctor.Describe(ex, err)), "Listing past the first page fails. Report the answer.")
		case len(one) != 1 || one[0].ID != big[1].ID:
			c.s.Fails(idListPerPage, fmt.Sprintf("%s=2&%s=1 gives %d users, not the second person of %s=%d", paramPage, paramPerPage, len(one), paramPerPage, maxPerPage),
				fmt.Sprintf("Thought Industries does not page by offset as the bridge expects (%s N of size S starts at person (N-1)×S+1): listings would skip or repeat people. Report it.", paramPage))
		default:
			obs := fmt.Sprintf("%s=%d gives %d users; %s=2&%s=1 gives the second person", paramPerPage, maxPerPage, m, paramPage, paramPerPage)
			if c.total <= maxPerPage {
				obs += fmt.Sprintf(" (the maximum itself shows only with more than %d users)", maxPerPage)
			}
			c.s.Holds(idListPerPage, obs)
		}
	}

	if c.total < 0 {
		c.s.Skip(idListLastPage, fmt.Sprintf("needs %q to know where the end is", keyTotal))
		return
	}
	probe := doctor.Pages(c.total, m) + 1
	ex, past, total, err := c.list(ctx, probe, maxPerPage, "")
	switch {
	case err != nil:
		c.s.Differs(idListLastPage, fmt.Sprintf("%s=%d: %s", paramPage, probe, doctor.Describe(ex, err)),
			fmt.Sprintf("The bridge copes: it stops at %q and does not ask past the end. Report it.", keyTotal))
	case len(past) == 0:
		c.s.Holds(idListLastPage, fmt.Sprintf("%s=%d (past the end) answers an empty list", paramPage, probe))
	default:
		c.s.Differs(idListLastPage, fmt.Sprintf("%s=%d (past the end) lists %d users (%q %s)", paramPage, probe, len(past), keyTotal, doctor.Number(total)),
			fmt.Sprintf("The bridge copes while the tenant sends %q: it stops there. Report it so docs/thoughtindustries.md is corrected.", keyTotal))
	}
}

// lookup asks whether ?email= filters, with an address nobody has, then whether it ignores case, with a known
// person's address in the other case (a read: nobody is changed).
func (c *checkup) lookup(ctx context.Context, email, id string) {
	ex, users, total, err := c.list(ctx, 1, maxPerPage, doctor.AbsentAddress())
	if err != nil {
		c.s.Fails(idFindEmailParam, doctor.Describe(ex, err), "Every lookup by e-mail would fail: the bridge could not link people who already exist. "+
			"Report the answer; the parameter is paramEmail in adapters/thoughtindustries/wire.go.")
		c.s.Skip(idFindEmailCase, "the lookup failed")
		return
	}
	if len(users) > 0 {
		cost := "a walk through every page"
		if c.total >= 0 && c.size > 0 {
			cost = fmt.Sprintf("up to %d calls on this tenant", doctor.Pages(c.total, c.size)+1)
		}
		c.s.Differs(idFindEmailParam, fmt.Sprintf("ignored: an address nobody has lists %d users (%q %s)", len(users), keyTotal, doctor.Number(total)),
			fmt.Sprintf("The bridge copes: it compares e-mails itself and walks the listing, so a lookup by e-mail costs %s instead of 1. "+
				"If the tenant filters under another name, report it: the parameter is paramEmail in adapters/thoughtindustries/wire.go.", cost))
		c.s.Skip(idFindEmailCase, "the parameter is ignored; the bridge compares e-mails itself, ignoring case")
		return
	}
	has := func(users []tiUser) bool {
		return slices.ContainsFunc(users, func(u tiUser) bool { return string(u.ID) == id })
	}
	other := doctor.SwapCase(email)
	if other != email {
		ex, users, _, err = c.list(ctx, 1, maxPerPage, other)
		if err != nil {
			c.s.Fails(idFindEmailCase, doctor.Describe(ex, err), "A lookup in another case fails. Report the answer.")
		} else if has(users) {
			c.s.Holds(idFindEmailParam, "an address nobody has lists nobody; a listed person's address finds them")
			c.s.Holds(idFindEmailCase, "the address in the other case finds the person")
			return
		}
	}
	ex, users, _, err = c.list(ctx, 1, maxPerPage, email)
	switch {
	case err != nil:
		c.s.Fails(idFindEmailParam, doctor.Describe(ex, err), "A lookup by e-mail fails. Report the answer.")
	case !has(users):
		c.s.Fails(idFindEmailParam, "a listed person's own address finds nobody",
			"Lookups by e-mail would miss people who exist: the bridge would try to create them again. Report it; the parameter is paramEmail in adapters/thoughtindustries/wire.go.")
		c.s.Skip(idFindEmailCase, "the lookup finds nobody")
	default:
		c.s.Holds(idFindEmailParam, "an address nobody has lists nobody; a listed person's address finds them")
		if !c.s.Decided(idFindEmailCase) {
			if other == email {
				c.s.Skip(idFindEmailCase, "the address has no letters to change the case of")
			} else {
				c.s.Differs(idFindEmailCase, "the address in the other case finds nobody",
					"The bridge copes in part: it asks again in lower case, so it finds people whose address the tenant holds in lower case, but not one held as "+
						"Jane@Example.com when the IdP sends another case. Keep addresses lower case in both, and report it.")
			}
		}
	}
}

// read fetches one person and judges the envelope and fields of a read.
func (c *checkup) read(ctx context.Context, id string) {
	ex, err := c.call(ctx, http.MethodGet, userPath(id), nil, nil)
	if err != nil {
		c.s.Fails(idGetEnvelope, doctor.Describe(ex, err), "The bridge reads a person before every change: report the answer.")
		return
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(ex.Body, &top)
	raw, wrapped := top[envelopeUser]
	if !wrapped {
		raw = ex.Body
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil || (!wrapped && obj[fieldID] == nil) {
		c.s.Fails(idGetEnvelope, doctor.Shape(ex.Body), fmt.Sprintf("The bridge reads every person through this answer and would fail. "+
			"Report its shape; the bridge expects {%q:{…}} (wire.go).", envelopeUser))
		return
	}
	var missing, essential []string
	for _, f := range readFields {
		if _, ok := obj[f]; !ok {
			missing = append(missing, f)
			if slices.Contains(essentialFields, f) {
				essential = append(essential, f)
			}
		}
	}
	obs := fmt.Sprintf(`{%q:{…}} with %s`, envelopeUser, doctor.Keys(raw))
	if !wrapped {
		obs = "a bare object with " + doctor.Keys(raw)
	}
	switch {
	case len(essential) > 0:
		c.s.Fails(idGetEnvelope, obs+"; missing "+strings.Join(missing, ", "), fmt.Sprintf("The bridge cannot work without %s (without %s, every person reads as active). "+
			"Report the names the tenant uses; they live in adapters/thoughtindustries/wire.go.", strings.Join(essential, ", "), fieldActive))
	case len(missing) > 0:
		c.s.Differs(idGetEnvelope, obs+"; missing "+strings.Join(missing, ", "),
			"The bridge copes: it reads a missing field as empty. Report it: a field the tenant never sends cannot be mapped.")
	case !wrapped:
		c.s.Differs(idGetEnvelope, obs, "The bridge copes: it accepts a bare object. Report it.")
	default:
		c.s.Holds(idGetEnvelope, obs)
	}
}

// testPerson is what the write walk made; cleanup acts on nothing else.
type testPerson struct {
	email string
	ids   []string // the test person, and a second account if the tenant accepted a duplicate
	lost  bool     // a create's answer was lost: look the address up before cleaning up
}

// walk takes a test person through what an IdP will do: create, read back, update (merged, cleared, replaced),
// deactivate, reactivate, a duplicate create, and a permanent DELETE.
func (c *checkup) walk(ctx context.Context, email string) {
	if !c.s.TestUserUnused(ctx, c.a, "Thought Industries") {
		return
	}
	p := &testPerson{email: email}
	defer c.cleanup(ctx, p)

	body := map[string]any{fieldEmail: email, fieldFirstName: testFirstName, fieldLastName: testLastName, fieldActive: true, fieldLanguage: testLanguage}
	custom := map[string]string{}
	for _, cf := range c.a.cfg.customFields {
		custom[cf.Key] = testCustomValue
	}
	if len(custom) > 0 {
		body[fieldCustomFields] = custom
	}
	ex, err := c.call(ctx, http.MethodPost, pathUsers, nil, body)
	if err != nil {
		var aborted bool
		if p.lost, aborted = c.s.CreateFailed(ex, err, "Thought Industries", "the tenant"); !aborted {
			c.s.Fails(idCreateEcho, doctor.Describe(ex, err), "Thought Industries refused the body the bridge creates people with: every create from the IdP would fail "+
				"the same way. Report the answer.")
		}
		return
	}
	var answer map[string]json.RawMessage
	_ = json.Unmarshal(ex.Body, &answer)
	if _, t, derr := decodeUser("doctor", answer); derr == nil && t.ID != "" {
		p.ids = append(p.ids, string(t.ID))
		c.s.Holds(idCreateEcho, fmt.Sprintf("HTTP %d, %q with %s", ex.Status, envelopeUser, doctor.Keys(answer[envelopeUser])))
	} else {
		c.s.Differs(idCreateEcho, fmt.Sprintf("HTTP %d, %s", ex.Status, doctor.Shape(ex.Body)),
			"The bridge copes: it finds the new person by e-mail (one more call a create). Report it so docs/thoughtindustries.md is corrected.")
		p.lost = true
		if !c.findTestPerson(ctx, p) {
			c.s.Abort("the test person was created but cannot be found by e-mail; remove " + email + " in the admin portal")
			return
		}
	}
	id := p.ids[0]

	obj, t, ex, err := c.get(ctx, id)
	if err != nil {
		c.s.Abort("could not read the test person back: " + doctor.Describe(ex, err))
		return
	}
	c.createChecks(t)
	if !c.s.Decided(idFindEmailParam) {
		c.lookup(ctx, email, id)
	}
	if !c.s.Decided(idGetEnvelope) {
		c.read(ctx, id)
	}
	c.updateChecks(ctx, id, obj, t)
	c.activeCheck(ctx, id, false, idDeactivate)
	c.activeCheck(ctx, id, true, idReactivate)
	c.duplicateCheck(ctx, p, body)
	c.deleteCheck(ctx, id)
}

func (c *checkup) createChecks(t tiUser) {
	var dropped []string
	got := map[string]*string{fieldFirstName: t.FirstName, fieldLastName: t.LastName, fieldLanguage: t.Language}
	for f, want := range map[string]string{fieldFirstName: testFirstName, fieldLastName: testLastName, fieldLanguage: testLanguage} {
		if deref(got[f]) != want {
			dropped = append(dropped, f)
		}
	}
	if t.Active != nil && !*t.Active {
		dropped = append(dropped, fieldActive)
	}
	slices.Sort(dropped)
	if len(dropped) > 0 {
		c.s.Fails(idCreateFields, "not stored as sent: "+strings.Join(dropped, ", "), dropAdvice(dropped))
	} else {
		c.s.Holds(idCreateFields, "stored as sent")
	}

	if len(c.a.cfg.customFields) == 0 {
		return
	}
	var kept, lost []string
	for _, cf := range c.a.cfg.customFields {
		if fieldString(t.CustomFields[cf.Key]) == testCustomValue {
			kept = append(kept, cf.Key)
		} else {
			lost = append(lost, cf.Key)
		}
	}
	if len(lost) > 0 {
		c.s.Fails(idCustomFields, fmt.Sprintf("not kept: %s (kept: %s)", strings.Join(lost, ", "), orNone(kept)),
			fmt.Sprintf("Define %s in the Thought Industries admin portal, or take them out of %s: the tenant drops values for unknown keys without a word "+
				"(the bridge logs \"custom field value did not stick\").", strings.Join(lost, ", "), EnvCustomFields))
	} else {
		c.s.Holds(idCustomFields, "kept: "+strings.Join(kept, ", "))
	}
}

// updateChecks changes the test person the three ways the adapter relies on: a read-merge-write of one field,
// a field cleared with null, and a PUT that leaves a field out (to learn whether PUT replaces).
func (c *checkup) updateChecks(ctx context.Context, id string, obj map[string]json.RawMessage, before tiUser) {
	last := testLastName + " (updated)"
	ex, err := c.put(ctx, id, obj, map[string]json.RawMessage{fieldLastName: jsonString(&last)})
	if err != nil {
		c.s.Fails(idUpdatePut, doctor.Describe(ex, err), fmt.Sprintf("Thought Industries refused the object it served with one field changed: every update from the IdP "+
			"would fail. If the answer names a read-only field, it belongs in systemFields (now %s) in adapters/thoughtindustries/wire.go; report it.", strings.Join(systemFields, ", ")))
		c.s.Skip(idUpdateEcho, "the PUT failed")
		c.s.Skip(idUpdateClear, "the PUT failed")
		c.s.Skip(idUpdateReplace, "the PUT failed")
		return
	}
	var answer map[string]json.RawMessage
	_ = json.Unmarshal(ex.Body, &answer)
	sent := without(merged(obj, map[string]json.RawMessage{fieldLastName: jsonString(&last)}), systemFields)
	switch got, t, derr := decodeUser("doctor", answer); {
	case derr != nil || t.ID == "":
		c.s.Differs(idUpdateEcho, fmt.Sprintf("HTTP %d, %s", ex.Status, doctor.Shape(ex.Body)),
			"The bridge copes: it reads the person back (one more call an update). Report it so docs/thoughtindustries.md is corrected.")
	case short(sent, got):
		c.s.Differs(idUpdateEcho, fmt.Sprintf("HTTP %d, a short object with %s", ex.Status, doctor.Keys(answer[envelopeUser])),
			"The bridge copes: it reads the person back (one more call an update). Report it so docs/thoughtindustries.md is corrected.")
	default:
		c.s.Holds(idUpdateEcho, fmt.Sprintf("HTTP %d, the whole object", ex.Status))
	}

	obj, after, ex, err := c.get(ctx, id)
	if err != nil {
		c.s.Fails(idUpdatePut, "reading back: "+doctor.Describe(ex, err), "Report the answer.")
		return
	}
	var changed []string
	if deref(after.LastName) != last {
		changed = append(changed, fieldLastName+" (not updated)")
	}
	if deref(after.FirstName) != deref(before.FirstName) {
		changed = append(changed, fieldFirstName)
	}
	if deref(after.Language) != deref(before.Language) {
		changed = append(changed, fieldLanguage)
	}
	if !strings.EqualFold(after.Email, before.Email) {
		changed = append(changed, fieldEmail)
	}
	for _, cf := range c.a.cfg.customFields {
		if fieldString(after.CustomFields[cf.Key]) != fieldString(before.CustomFields[cf.Key]) {
			changed = append(changed, fieldCustomFields+"."+cf.Key)
		}
	}
	if len(changed) > 0 {
		c.s.Fails(idUpdatePut, "after the PUT: "+strings.Join(changed, ", "),
			"The read-merge-write did not keep the person as it was apart from the one change: updates from the IdP would lose or miss values. Report it.")
	} else {
		c.s.Holds(idUpdatePut, fmt.Sprintf("%s changed, every other field kept", fieldLastName))
	}

	ex, err = c.put(ctx, id, obj, map[string]json.RawMessage{fieldLastName: json.RawMessage("null")})
	if err == nil {
		_, after, ex, err = c.get(ctx, id)
	}
	switch {
	case err != nil:
		c.s.Fails(idUpdateClear, doctor.Describe(ex, err), fmt.Sprintf(`Thought Industries refused {"%s":null}: clearing an attribute in the IdP would fail. Report the answer.`, fieldLastName))
	case deref(after.LastName) != "":
		c.s.Fails(idUpdateClear, fmt.Sprintf("%s still holds a value", fieldLastName),
			"Clearing an attribute in the IdP would leave the old value in Thought Industries. Report it; the bridge clears with null (merge.go).")
	default:
		c.s.Holds(idUpdateClear, fmt.Sprintf("%s is empty afterwards", fieldLastName))
	}

	// Only the e-mail, a last name and the state: a replacing PUT clears the first name, a merging one keeps it.
	partial := map[string]any{fieldEmail: before.Email, fieldLastName: testLastName, fieldActive: true}
	ex, err = c.call(ctx, http.MethodPut, userPath(id), nil, partial)
	if err == nil {
		_, after, ex, err = c.get(ctx, id)
	}
	switch {
	case err != nil:
		c.s.Differs(idUpdateReplace, "a PUT without every field: "+doctor.Describe(ex, err),
			"The bridge copes: it always sends the whole object. Report it so docs/thoughtindustries.md is corrected.")
	case deref(after.FirstName) == "":
		c.s.Holds(idUpdateReplace, fmt.Sprintf("replaces: %s, left out, was cleared", fieldFirstName))
	default:
		c.s.Differs(idUpdateReplace, fmt.Sprintf("merges: %s, left out, was kept", fieldFirstName),
			"The bridge copes: its read-merge-write is right either way. Report it so docs/thoughtindustries.md says PUT merges.")
	}
}

// activeCheck sets active through a read-merge-write and reads it back.
func (c *checkup) activeCheck(ctx context.Context, id string, active bool, check string) {
	obj, _, ex, err := c.get(ctx, id)
	if err == nil {
		ex, err = c.put(ctx, id, obj, map[string]json.RawMessage{fieldActive: jsonBool(active)})
	}
	var t tiUser
	if err == nil {
		_, t, ex, err = c.get(ctx, id)
	}
	verb := map[bool]string{false: "Deactivating", true: "Reactivating"}[active]
	switch {
	case err != nil:
		c.s.Fails(check, doctor.Describe(ex, err), verb+" a person from the IdP would fail the same way. Report the answer.")
	case t.Active == nil:
		c.s.Fails(check, fmt.Sprintf("the person has no %q field", fieldActive), "The bridge cannot tell active people from deactivated ones. Report it.")
	case *t.Active != active:
		c.s.Fails(check, fmt.Sprintf("%q is still %v", fieldActive, *t.Active),
			verb+" a person from the IdP would not take effect (the bridge would report a false success). Report it.")
	default:
		c.s.Holds(check, fmt.Sprintf("%q is %v afterwards", fieldActive, active))
	}
}

func (c *checkup) duplicateCheck(ctx context.Context, p *testPerson, body map[string]any) {
	ex, err := c.call(ctx, http.MethodPost, pathUsers, nil, body)
	if err == nil {
		var answer map[string]json.RawMessage
		_ = json.Unmarshal(ex.Body, &answer)
		if _, t, derr := decodeUser("doctor", answer); derr == nil && t.ID != "" {
			p.ids = append(p.ids, string(t.ID))
		}
		c.s.Fails(idDuplicate, fmt.Sprintf("HTTP %d: a second account was created", ex.Status),
			"Thought Industries accepted the same e-mail twice: a create the IdP repeats could make two accounts for one person. Report it.")
		return
	}
	// A lost answer is not looked for here: cleanup's lookup by e-mail would only find the first account again.
	c.s.Duplicate(idDuplicate, ex, err, classify(ex.Status, ex.Body), "docs/thoughtindustries.md", "The bridge would not see a duplicate: the IdP would get 400 "+
		"instead of 409 and could not link a person who already exists. Report the answer; the words the bridge looks for are duplicateEmailPhrases in adapters/thoughtindustries/wire.go.")
}

// deleteCheck sends the permanent DELETE the bridge sends in delete mode, and looks at what is left.
func (c *checkup) deleteCheck(ctx context.Context, id string) {
	deleting := c.a.cfg.deleteMode == deleteHard
	verdict := func(observed, advice string) {
		if deleting {
			c.s.Fails(idDeletePerm, observed, fmt.Sprintf("With %s=%s people would not be erased: %s Use %s=%s until it is understood.", EnvDeleteMode, deleteHard, advice, EnvDeleteMode, deleteDeactivate))
			return
		}
		c.s.Differs(idDeletePerm, observed, fmt.Sprintf("The bridge copes: with %s=%s (yours) it never sends DELETE. %s", EnvDeleteMode, c.a.cfg.deleteMode, advice))
	}
	ex, err := c.call(ctx, http.MethodDelete, userPath(id), nil, nil)
	if err != nil {
		verdict(doctor.Describe(ex, err), "Thought Industries refused DELETE. Report the answer.")
		return
	}
	answer := doctor.Describe(ex, nil)
	_, t, gex, err := c.get(ctx, id)
	switch {
	case gex.Status == http.StatusNotFound:
		c.s.Holds(idDeletePerm, "DELETE answered "+answer+"; then GET answers 404")
	case err != nil:
		verdict("reading back after DELETE: "+doctor.Describe(gex, err), "Report the answer.")
	default:
		state := "active"
		if t.Active != nil && !*t.Active {
			state = "deactivated"
		}
		verdict(fmt.Sprintf("DELETE answered %s; the person is still there, %s", answer, state),
			"Thought Industries keeps the person on DELETE. Report it.")
	}
}

// cleanup removes the test person for good (Thought Industries' DELETE is permanent); if the tenant keeps them,
// they are left deactivated. It runs even when the walk stopped early or the run was interrupted.
func (c *checkup) cleanup(ctx context.Context, p *testPerson) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if p.lost {
		c.findTestPerson(ctx, p)
	}
	if len(p.ids) == 0 {
		if p.lost {
			c.s.Note("The test person %s may exist in Thought Industries although its create answer was lost; the doctor could not find them. Check the admin portal.", p.email)
		}
		return
	}
	for _, id := range p.ids {
		_, t, ex, err := c.get(ctx, id)
		if ex.Status == http.StatusNotFound {
			c.s.Note("Nothing is left of the test person %s (id %s): Thought Industries' DELETE removed them.", p.email, id)
			continue
		}
		if err == nil {
			if ex, err := c.call(ctx, http.MethodDelete, userPath(id), nil, nil); err != nil {
				c.s.Note("Could not delete the test person %s (id %s): %s.", p.email, id, doctor.Describe(ex, err))
			}
			_, t, ex, err = c.get(ctx, id)
			if ex.Status == http.StatusNotFound {
				c.s.Note("Nothing is left of the test person %s (id %s): Thought Industries' DELETE removed them.", p.email, id)
				continue
			}
		}
		if err == nil && (t.Active == nil || *t.Active) {
			_, err = c.a.Update(ctx, id, adapters.Change{Active: adapters.Ptr(false)})
		}
		if err != nil {
			c.s.Note("The test person %s (id %s) may still be active: deactivate or delete them in the admin portal.", p.email, id)
			continue
		}
		c.s.Note("The test person %s (id %s) is left deactivated: Thought Industries kept them after DELETE. Delete them in the admin portal if you want them gone.", p.email, id)
	}
}

// findTestPerson looks the test e-mail up, which is safe because the walk proved nobody had it before.
func (c *checkup) findTestPerson(ctx context.Context, p *testPerson) bool {
	u, _, err := c.s.FindByEmail(ctx, c.a, p.email)
	if err != nil || u.ID == "" {
		return false
	}
	if !slices.Contains(p.ids, u.ID) {
		p.ids = append([]string{u.ID}, p.ids...)
	}
	p.lost = false
	return true
}

// get reads one person, raw and mapped.
func (c *checkup) get(ctx context.Context, id string) (map[string]json.RawMessage, tiUser, doctor.Exchange, error) {
	ex, err := c.call(ctx, http.MethodGet, userPath(id), nil, nil)
	if err != nil {
		return nil, tiUser{}, ex, err
	}
	var body map[string]json.RawMessage
	_ = json.Unmarshal(ex.Body, &body)
	obj, t, err := decodeUser("doctor", body)
	return obj, t, ex, err
}

// put writes the object read with changes applied and the system fields left out: the adapter's update.
func (c *checkup) put(ctx context.Context, id string, obj, changes map[string]json.RawMessage) (doctor.Exchange, error) {
	return c.call(ctx, http.MethodPut, userPath(id), nil, without(merged(obj, changes), systemFields))
}

func merged(obj, changes map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(obj)+len(changes))
	for k, v := range obj {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func without(obj map[string]json.RawMessage, fields []string) map[string]json.RawMessage {
	for _, f := range fields {
		delete(obj, f)
	}
	return obj
}

func dropAdvice(fields []string) string {
	var scim []string
	for _, f := range fields {
		scim = append(scim, scimNames[f])
	}
	return fmt.Sprintf("Thought Industries does not store %s as sent: changes to %s in the IdP will not reach it, and the IdP will see them undone on its next read. "+
		"Report it; the field names live in adapters/thoughtindustries/wire.go.", strings.Join(fields, ", "), strings.Join(scim, ", "))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
