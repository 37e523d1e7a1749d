package trainual

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

// The test person's values: recognisable in Trainual's UI as the doctor's, and harmless (no role is ever sent, so
// the test person can never be made an admin).
const (
	testFirstName  = "Scim-Bridge"
	testLastName   = "Doctor"
	testTitle      = "scim-bridge doctor check"
	testDepartment = "scim-bridge doctor check"
)

// scimNames are the SCIM attributes behind Trainual's fields, for advice a deployer can act on.
var scimNames = map[string]string{
	fieldFirstName:  "name.givenName",
	fieldLastName:   "name.familyName",
	fieldTitle:      "title",
	fieldDepartment: "the enterprise department",
	fieldRole:       "roles",
	fieldEmail:      "userName",
	fieldStatus:     "active",
}

// Doctor observes every item of Assumptions on the Trainual account the settings point at, through the adapter's
// own client, and reports what holds. It returns an error only for invalid settings; a refused key, an unreachable
// vendor or a test e-mail that is taken end the run early and are in the report (Aborted).
func Doctor(ctx context.Context, get func(string) string, deps adapters.Deps, opts doctor.Options) (doctor.Report, error) {
	s := doctor.NewSession(Assumptions(), opts, deps.HTTP)
	deps.HTTP = s.HTTP()
	a, err := Open(get, deps)
	if err != nil {
		return doctor.Report{}, err
	}
	s.Redact(get(envToken))
	base := strings.TrimRight(strings.TrimSpace(get(envURL)), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	c := &checkup{s: s, a: a.(*adapter), base: base, total: -1}
	c.run(ctx)
	return s.Report("trainual", base), nil
}

// checkup is one doctor run against Trainual.
type checkup struct {
	s    *doctor.Session
	a    *adapter
	base string

	total    int     // meta.total of the first page, -1 when absent
	page1    []int64 // ids on the first page
	pageSize int     // users a page as observed, 0 when unknown
	known    *trainualUser
}

func (c *checkup) run(ctx context.Context) {
	if !c.firstPage(ctx) {
		return
	}
	if !c.s.Decided(idListPageSize) {
		c.paging(ctx)
	}
	if c.known != nil {
		c.lookup(ctx, c.known.Email.v, int64(c.known.ID))
		c.read(ctx, int64(c.known.ID))
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
	c.s.CheckRateLimit(idRateLimit, "docs/trainual.md")
}

// call sends one request through the adapter's own client, so that base URL, credentials, timeouts and error
// classification are exactly serve's; the raw answer comes back in the exchange.
func (c *checkup) call(ctx context.Context, method, path string, q url.Values, body any) (doctor.Exchange, error) {
	return c.s.Send(ctx, c.a.c, method, path, q, body)
}

func (c *checkup) list(ctx context.Context, page int, email string) (doctor.Exchange, listEnvelope, error) {
	q := url.Values{paramPage: {strconv.Itoa(page)}}
	if email != "" {
		q.Set(paramEmail, email)
	}
	ex, err := c.call(ctx, http.MethodGet, pathUsers, q, nil)
	var env listEnvelope
	if err == nil {
		if derr := json.Unmarshal(ex.Body, &env); derr != nil || env.Users == nil {
			return ex, env, fmt.Errorf("the answer is not the listing envelope (%s)", doctor.Shape(ex.Body))
		}
	}
	return ex, env, err
}

// firstPage is the first call: it proves the key and the base URL, and shows the listing envelope.
func (c *checkup) firstPage(ctx context.Context) bool {
	ex, err := c.call(ctx, http.MethodGet, pathUsers, url.Values{paramPage: {"1"}}, nil)
	switch {
	case ex.Status == 0:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort(fmt.Sprintf("Trainual could not be reached at %s (%v): check SCIM_BRIDGE_UPSTREAM_URL, DNS, proxy and firewall", c.base, err))
		return false
	case ex.Status == http.StatusUnauthorized || ex.Status == http.StatusForbidden:
		c.s.Fails(idAuth, doctor.Describe(ex, err), "Check SCIM_BRIDGE_UPSTREAM_TOKEN: an owner or admin generates the key in Trainual under Settings > Integrations > API.")
		c.s.Abort("Trainual refused the API key")
		return false
	case ex.Status == http.StatusNotFound:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort(fmt.Sprintf("GET %s%s answered 404: check SCIM_BRIDGE_UPSTREAM_URL (Trainual's is %s)", c.base, pathUsers, DefaultBaseURL))
		return false
	case err != nil:
		c.s.Skip(idAuth, doctor.Describe(ex, err))
		c.s.Abort("Trainual answered the first listing with " + doctor.Describe(ex, err) + ": try again later")
		return false
	}
	c.s.Holds(idAuth, fmt.Sprintf("HTTP %d to GET %s with the key as a Bearer token", ex.Status, pathUsers))
	c.envelope(ex.Body)
	return true
}

// envelope judges the first page's shape and remembers what the other checks need from it.
func (c *checkup) envelope(body []byte) {
	var env listEnvelope
	derr := json.Unmarshal(body, &env)
	if derr != nil || env.Users == nil {
		obs := doctor.Shape(body)
		if derr != nil && strings.Contains(derr.Error(), "integer") {
			obs = fmt.Sprintf("a listed %s is not an integer", fieldID)
		}
		c.s.Fails(idListEnvelope, obs, fmt.Sprintf("Every listing and e-mail lookup would fail. Report the answer's shape; "+
			"the bridge decodes it as listEnvelope in adapters/trainual/wire.go (%q list, %q object).", keyUsers, keyMeta))
		for _, id := range []string{idListPageSize, idListLastPage, idFindEmailParam, idFindEmailCase} {
			c.s.Skip(id, "the listing is not in the expected shape")
		}
		return
	}
	users := *env.Users
	incomplete := 0
	for _, u := range users {
		if u.ID <= 0 || strings.TrimSpace(u.Email.v) == "" {
			incomplete++
			continue
		}
		c.page1 = append(c.page1, int64(u.ID))
		if c.known == nil {
			c.known = &u
		}
	}
	obs := fmt.Sprintf("%q: %d items with %s; %s.%s %s, %s.%s %s", keyUsers, len(users), doctor.ItemKeys(body, keyUsers),
		keyMeta, keyPage, doctor.Number(env.Meta.Page), keyMeta, keyTotal, doctor.Number(env.Meta.Total))
	if env.Meta.Total != nil {
		c.total = *env.Meta.Total
	}
	switch {
	case incomplete > 0:
		c.s.Fails(idListEnvelope, obs+fmt.Sprintf("; %d items lack %s or %s", incomplete, fieldID, fieldEmail),
			"The bridge finds and links people by the id and e-mail of listed items. Report the item shape (fields live in adapters/trainual/wire.go).")
	case env.Meta.Total == nil || env.Meta.Page == nil:
		c.s.Differs(idListEnvelope, obs, fmt.Sprintf("The bridge copes: without %s.%s it reads pages until an empty one (one more call a listing). "+
			"Report it so docs/trainual.md is corrected.", keyMeta, keyTotal))
	default:
		c.s.Holds(idListEnvelope, obs)
	}
}

// paging learns the page size from the first two pages and asks for the page past the end.
func (c *checkup) paging(ctx context.Context) {
	n1 := len(c.page1)
	if n1 == 0 {
		c.s.Skip(idListPageSize, "the account has no users")
		c.s.Skip(idListLastPage, "the account has no users")
		return
	}
	lastPage := 1
	onePage := c.total >= 0 && c.total <= n1
	if !onePage {
		ex, env, err := c.list(ctx, 2, "")
		if err != nil {
			c.s.Fails(idListPageSize, "page 2: "+doctor.Describe(ex, err),
				"Listing past the first page fails, so the bridge would never see most people. Report the answer.")
			c.s.Skip(idListLastPage, "page 2 failed")
			return
		}
		var page2 []int64
		for _, u := range *env.Users {
			page2 = append(page2, int64(u.ID))
		}
		if len(page2) > 0 && slices.ContainsFunc(page2, func(id int64) bool { return slices.Contains(c.page1, id) }) {
			c.s.Fails(idListPageSize, fmt.Sprintf("%s=2 answers people already on %s=1", paramPage, paramPage),
				fmt.Sprintf("Trainual seems to ignore ?%s=: the bridge would never see anyone past the first page. Report it; the parameter is paramPage in adapters/trainual/wire.go.", paramPage))
			c.s.Skip(idListLastPage, "pages repeat")
			return
		}
		onePage = len(page2) == 0
	}
	c.pageSize = n1
	if c.total >= 0 {
		lastPage = doctor.Pages(c.total, n1)
	}
	switch {
	case onePage && n1 <= AssumedPageSize:
		c.s.Holds(idListPageSize, fmt.Sprintf("all %d users on %s=1 (the size itself shows only with more than %d users)", n1, paramPage, AssumedPageSize))
	case n1 == AssumedPageSize:
		c.s.Holds(idListPageSize, fmt.Sprintf("%d users a page; %s=2 continues (%s.%s %d)", n1, paramPage, keyMeta, keyTotal, c.total))
	default:
		what := fmt.Sprintf("%d users a page", n1)
		if onePage {
			what = fmt.Sprintf("all %d users on one page: at least %d a page", n1, n1)
		}
		c.s.Differs(idListPageSize, what, fmt.Sprintf("The bridge copes: it asks for no size and takes each page as it comes. "+
			"Report the size so docs/trainual.md and the emulator (trainualtest.PageSize, %d) match.", AssumedPageSize))
	}

	if c.total < 0 {
		c.s.Skip(idListLastPage, fmt.Sprintf("needs %s.%s to know where the end is", keyMeta, keyTotal))
		return
	}
	probe := lastPage + 1
	ex, env, err := c.list(ctx, probe, "")
	switch {
	case err != nil:
		c.s.Differs(idListLastPage, fmt.Sprintf("%s=%d: %s", paramPage, probe, doctor.Describe(ex, err)),
			fmt.Sprintf("The bridge copes: it stops at %s.%s and does not ask past the end. Report it.", keyMeta, keyTotal))
	case len(*env.Users) == 0:
		c.s.Holds(idListLastPage, fmt.Sprintf("%s=%d (past the end) answers an empty list", paramPage, probe))
	default:
		c.s.Differs(idListLastPage, fmt.Sprintf("%s=%d (past the end) lists %d users again (%s.%s %s)", paramPage, probe, len(*env.Users), keyMeta, keyPage, doctor.Number(env.Meta.Page)),
			fmt.Sprintf("The bridge copes while Trainual sends %s.%s: it stops there. Report it so docs/trainual.md is corrected.", keyMeta, keyTotal))
	}
}

// lookup asks whether ?email= filters, with an address nobody has, then whether it ignores case, with a known
// person's address in the other case (a read: nobody is changed).
func (c *checkup) lookup(ctx context.Context, email string, id int64) {
	ex, env, err := c.list(ctx, 1, doctor.AbsentAddress())
	if err != nil {
		c.s.Fails(idFindEmailParam, doctor.Describe(ex, err), "Every lookup by e-mail would fail: the bridge could not link people who already exist in Trainual. "+
			"Report the answer; the parameter is paramEmail in adapters/trainual/wire.go.")
		c.s.Skip(idFindEmailCase, "the lookup failed")
		return
	}
	if n := len(*env.Users); n > 0 {
		cost := "a walk through every page"
		if c.total >= 0 && c.pageSize > 0 {
			cost = fmt.Sprintf("up to %d calls on this account", doctor.Pages(c.total, c.pageSize)+1)
		}
		c.s.Differs(idFindEmailParam, fmt.Sprintf("ignored: an address nobody has lists %d users (%s.%s %s)", n, keyMeta, keyTotal, doctor.Number(env.Meta.Total)),
			fmt.Sprintf("The bridge copes: it compares e-mails itself and walks the listing, so a lookup by e-mail costs %s instead of 2. "+
				"If Trainual filters under another name, report it: the parameter is paramEmail in adapters/trainual/wire.go.", cost))
		c.s.Skip(idFindEmailCase, "the parameter is ignored; the bridge compares e-mails itself, ignoring case")
		return
	}
	other := doctor.SwapCase(email)
	if other != email {
		ex, env, err = c.list(ctx, 1, other)
		if err != nil {
			c.s.Fails(idFindEmailCase, doctor.Describe(ex, err), "A lookup in another case fails. Report the answer.")
		} else if holds(*env.Users, id) {
			c.s.Holds(idFindEmailParam, "an address nobody has lists nobody; a listed person's address finds them")
			c.s.Holds(idFindEmailCase, "the address in the other case finds the person")
			return
		}
	}
	ex, env, err = c.list(ctx, 1, email)
	switch {
	case err != nil:
		c.s.Fails(idFindEmailParam, doctor.Describe(ex, err), "A lookup by e-mail fails. Report the answer.")
	case !holds(*env.Users, id):
		c.s.Fails(idFindEmailParam, "a listed person's own address finds nobody",
			"Lookups by e-mail would miss people who exist: the bridge would try to create them again. Report it; the parameter is paramEmail in adapters/trainual/wire.go.")
		c.s.Skip(idFindEmailCase, "the lookup finds nobody")
	default:
		c.s.Holds(idFindEmailParam, "an address nobody has lists nobody; a listed person's address finds them")
		if !c.s.Decided(idFindEmailCase) {
			if other == email {
				c.s.Skip(idFindEmailCase, "the address has no letters to change the case of")
			} else {
				c.s.Fails(idFindEmailCase, "the address in the other case finds nobody",
					"A person whose address differs in case between the IdP and Trainual would not be found: the bridge would try to create them, "+
						"be refused as a duplicate, and answer the IdP 409 without linking. Report it; meanwhile keep addresses in the same case in both.")
			}
		}
	}
}

// read fetches one person and judges the envelope and fields of a full read.
func (c *checkup) read(ctx context.Context, id int64) {
	ex, err := c.call(ctx, http.MethodGet, pathUser(id), nil, nil)
	if err != nil {
		c.s.Fails(idGetEnvelope, doctor.Describe(ex, err), "The bridge reads a person after every change: report the answer.")
		return
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(ex.Body, &top)
	raw, ok := top[keyUser]
	var obj map[string]json.RawMessage
	if !ok || json.Unmarshal(raw, &obj) != nil || obj == nil {
		c.s.Fails(idGetEnvelope, doctor.Shape(ex.Body), fmt.Sprintf("The bridge reads every person through this answer and would fail. "+
			"Report its shape; the bridge decodes it as userEnvelope (%q) in adapters/trainual/wire.go.", keyUser))
		return
	}
	var tu trainualUser
	if err := json.Unmarshal(raw, &tu); err != nil || int64(tu.ID) != id {
		c.s.Fails(idGetEnvelope, fmt.Sprintf("%q holds another id, or an id that is not an integer", keyUser),
			"The bridge would refuse every read. Report the id format.")
		return
	}
	var missing, essential []string
	for _, f := range fullFields {
		if _, ok := obj[f]; !ok {
			missing = append(missing, f)
			if f != "created_at" && f != "updated_at" {
				essential = append(essential, f)
			}
		}
	}
	obs := fmt.Sprintf(`{%q:{…}} with %s`, keyUser, doctor.Keys(raw))
	switch {
	case len(essential) > 0:
		c.s.Fails(idGetEnvelope, obs+"; missing "+strings.Join(missing, ", "), fmt.Sprintf("The bridge would read %s as empty, and the IdP would see them emptied "+
			"(without %s, everyone as active). Report the names Trainual uses; they live in adapters/trainual/wire.go.", strings.Join(essential, ", "), fieldStatus))
	case len(missing) > 0:
		c.s.Differs(idGetEnvelope, obs+"; missing "+strings.Join(missing, ", "),
			"The bridge copes: it keeps its own meta.created and meta.lastModified. Report it.")
	case strings.HasPrefix(strings.TrimSpace(string(obj[fieldID])), `"`):
		c.s.Differs(idGetEnvelope, obs+fmt.Sprintf("; %s is a string", fieldID), "The bridge copes: it accepts a quoted integer. Report it.")
	default:
		c.s.Holds(idGetEnvelope, obs)
	}
}

// testPerson is what the write walk made; cleanup acts on nothing else.
type testPerson struct {
	email string
	ids   []int64 // the test person, and a second account if Trainual accepted a duplicate
	lost  bool    // a create's answer was lost: look the address up before cleaning up
	gone  bool    // DELETE removed the person
}

// walk takes a test person through what an IdP will do: create, read back, update, duplicate create, deactivate,
// reactivate, and finally deactivate again (Trainual offers no removal the bridge knows of).
func (c *checkup) walk(ctx context.Context, email string) {
	if !c.s.TestUserUnused(ctx, c.a, "Trainual") {
		return
	}
	p := &testPerson{email: email}
	defer c.cleanup(ctx, p)

	body := createBody{Email: email, FirstName: testFirstName, LastName: testLastName, Title: testTitle, Department: testDepartment}
	ex, err := c.call(ctx, http.MethodPost, pathUsers, nil, body)
	if err != nil {
		var aborted bool
		if p.lost, aborted = c.s.CreateFailed(ex, err, "Trainual", "Trainual"); !aborted {
			c.s.Fails(idCreateEcho, doctor.Describe(ex, err), fmt.Sprintf("Trainual refused the body the bridge creates people with (%s, %s, %s, %s, %s): "+
				"every create from the IdP would fail the same way. Report the answer.", fieldEmail, fieldFirstName, fieldLastName, fieldTitle, fieldDepartment))
		}
		return
	}
	var env userEnvelope
	_ = json.Unmarshal(ex.Body, &env)
	if env.User != nil && env.User.ID > 0 {
		p.ids = append(p.ids, int64(env.User.ID))
		var top map[string]json.RawMessage
		_ = json.Unmarshal(ex.Body, &top)
		c.s.Holds(idCreateEcho, fmt.Sprintf("HTTP %d, %q with %s", ex.Status, keyUser, doctor.Keys(top[keyUser])))
	} else {
		c.s.Fails(idCreateEcho, fmt.Sprintf("HTTP %d, %s", ex.Status, doctor.Shape(ex.Body)),
			"The bridge takes the new id from this answer: without it every create from the IdP fails once (the person exists) and is linked only when the IdP retries. Report the answer's shape.")
		p.lost = true
		if !c.findTestPerson(ctx, p) {
			c.s.Abort("the test person was created but cannot be found by e-mail; remove " + email + " in Trainual's UI")
			return
		}
	}
	id := p.ids[0]

	tu, ex, err := c.get(ctx, id)
	if err != nil {
		c.s.Abort("could not read the test person back: " + doctor.Describe(ex, err))
		return
	}
	c.createChecks(tu, email)
	if !c.s.Decided(idFindEmailParam) {
		c.lookup(ctx, email, id)
	}
	if !c.s.Decided(idGetEnvelope) {
		c.read(ctx, id)
	}
	c.updateChecks(ctx, id, tu)
	c.duplicateCheck(ctx, p, body)
	if c.deactivateCheck(ctx, p, id) {
		c.reactivateCheck(ctx, id)
	}
}

func (c *checkup) createChecks(tu trainualUser, email string) {
	switch st := strings.ToLower(strings.TrimSpace(tu.Status.v)); st {
	case statusInvited:
		c.s.Holds(idCreateInvites, fmt.Sprintf("%s %q", fieldStatus, st))
		c.s.Note("Creating the test person made Trainual send an invitation e-mail to %s and use a seat until the doctor deactivated or removed them.", email)
	case statusActive:
		c.s.Differs(idCreateInvites, fmt.Sprintf("%s %q", fieldStatus, st), "The bridge copes (anything but \"deactivated\" is active). "+
			"Check whether the invitation e-mail arrived, and report it so docs/trainual.md is corrected.")
	default:
		c.s.Fails(idCreateInvites, fmt.Sprintf("%s %q", fieldStatus, st), fmt.Sprintf("The bridge reads only %q as inactive and would show this person "+
			"as active or inactive wrongly. Report the status Trainual gives new people.", statusDeactivated))
	}
	want := map[string]string{fieldFirstName: testFirstName, fieldLastName: testLastName, fieldTitle: testTitle, fieldDepartment: testDepartment}
	if dropped := differing(want, tu); len(dropped) > 0 {
		c.s.Fails(idCreateFields, "not stored as sent: "+strings.Join(dropped, ", "), dropAdvice(dropped))
	} else {
		c.s.Holds(idCreateFields, "stored as sent")
	}
}

func (c *checkup) updateChecks(ctx context.Context, id int64, before trainualUser) {
	title := testTitle + " (updated)"
	fields, _ := patchBody(adapters.Change{Attrs: map[string]*string{adapters.AttrTitle: &title}})
	ex, err := c.call(ctx, http.MethodPatch, pathUser(id), nil, fields)
	if err != nil {
		c.s.Fails(idUpdatePatch, doctor.Describe(ex, err), fmt.Sprintf("Trainual refused a PATCH of %s: updates from the IdP would fail the same way. Report the answer.", fieldTitle))
		c.s.Skip(idUpdateEcho, "the PATCH failed")
		c.s.Skip(idUpdateClear, "the PATCH failed")
		return
	}
	var env userEnvelope
	_ = json.Unmarshal(ex.Body, &env)
	if env.User != nil && int64(env.User.ID) == id {
		var top map[string]json.RawMessage
		_ = json.Unmarshal(ex.Body, &top)
		c.s.Holds(idUpdateEcho, fmt.Sprintf("HTTP %d, %q with %s", ex.Status, keyUser, doctor.Keys(top[keyUser])))
	} else {
		c.s.Differs(idUpdateEcho, fmt.Sprintf("HTTP %d, %s", ex.Status, doctor.Shape(ex.Body)),
			"The bridge copes: it reads the person back after every PATCH. Report it so docs/trainual.md is corrected.")
	}
	after, ex, err := c.get(ctx, id)
	if err != nil {
		c.s.Fails(idUpdatePatch, "reading back: "+doctor.Describe(ex, err), "The bridge reads a person back after every PATCH: report the answer.")
		c.s.Skip(idUpdateClear, "the read-back failed")
		return
	}
	want := map[string]string{fieldTitle: title, fieldFirstName: before.FirstName.v, fieldLastName: before.LastName.v, fieldDepartment: before.Department.v, fieldEmail: before.Email.v}
	switch changed := differing(want, after); {
	case slices.Contains(changed, fieldTitle):
		c.s.Fails(idUpdatePatch, fmt.Sprintf("%s is unchanged after the PATCH", fieldTitle), dropAdvice([]string{fieldTitle}))
	case len(changed) > 0:
		c.s.Fails(idUpdatePatch, "the PATCH also changed "+strings.Join(changed, ", "),
			"Trainual's PATCH replaces fields it was not sent: every IdP update would clear the others. Report it.")
	default:
		c.s.Holds(idUpdatePatch, fmt.Sprintf("%s changed, every other field kept", fieldTitle))
	}

	clear, _ := patchBody(adapters.Change{Attrs: map[string]*string{adapters.AttrTitle: nil}})
	ex, err = c.call(ctx, http.MethodPatch, pathUser(id), nil, clear)
	if err != nil {
		c.s.Fails(idUpdateClear, doctor.Describe(ex, err), fmt.Sprintf(`Trainual refused {"%s":""}: clearing an attribute in the IdP would fail. `+
			"Report the answer: Trainual may want null (patchBody in adapters/trainual/wire.go).", fieldTitle))
		return
	}
	after, ex, err = c.get(ctx, id)
	switch {
	case err != nil:
		c.s.Fails(idUpdateClear, "reading back: "+doctor.Describe(ex, err), "Report the answer.")
	case after.Title.v != "":
		c.s.Fails(idUpdateClear, fmt.Sprintf("%s still holds a value", fieldTitle), "Clearing title, department or role in the IdP would leave the old value in Trainual. "+
			"Report it: Trainual may want null (patchBody in adapters/trainual/wire.go).")
	default:
		c.s.Holds(idUpdateClear, fmt.Sprintf("%s is empty afterwards", fieldTitle))
	}
}

func (c *checkup) duplicateCheck(ctx context.Context, p *testPerson, body createBody) {
	ex, err := c.call(ctx, http.MethodPost, pathUsers, nil, body)
	if err == nil {
		var env userEnvelope
		_ = json.Unmarshal(ex.Body, &env)
		if env.User != nil && env.User.ID > 0 {
			p.ids = append(p.ids, int64(env.User.ID))
		} else {
			p.lost = true
		}
		c.s.Fails(idDuplicate, fmt.Sprintf("HTTP %d: a second account was created", ex.Status),
			"Trainual accepted the same e-mail twice: a create the IdP repeats could make two accounts for one person. Report it.")
		return
	}
	if c.s.Duplicate(idDuplicate, ex, err, classify(ex.Status, ex.Body), "docs/trainual.md", "The bridge would not see a duplicate: the IdP would get 400 instead of 409 "+
		"and could not link a person who already exists in Trainual. Report the answer; the wording the bridge looks for is takenPhrases in adapters/trainual/wire.go.") {
		p.lost = true
	}
}

// deactivateCheck sends DELETE and looks at what is left; it reports whether the person still exists.
func (c *checkup) deactivateCheck(ctx context.Context, p *testPerson, id int64) bool {
	ex, err := c.call(ctx, http.MethodDelete, pathUser(id), nil, nil)
	if err != nil {
		c.s.Fails(idDeleteSoft, doctor.Describe(ex, err), "Trainual refused DELETE: deactivations from the IdP would fail. Report the answer.")
		c.s.Skip(idReactivateState, "DELETE failed")
		return false
	}
	answer := doctor.Describe(ex, nil)
	tu, gex, err := c.get(ctx, id)
	switch {
	case gex.Status == http.StatusNotFound:
		p.gone = true
		c.s.Fails(idDeleteSoft, "DELETE answered "+answer+"; then GET answers 404: the person is gone",
			"Trainual hard-deletes on DELETE: deactivating or deleting a person in the IdP would erase them and their training history "+
				"(the bridge answers 404 and logs \"trainual deleted the user on DELETE\"). Report it, and deactivate people in Trainual's UI until the adapter changes.")
		c.s.Skip(idReactivateState, "the test person no longer exists")
		return false
	case err != nil:
		c.s.Fails(idDeleteSoft, "reading back after DELETE: "+doctor.Describe(gex, err), "Report the answer.")
		c.s.Skip(idReactivateState, "the read-back failed")
		return false
	case tu.isDeactivated():
		c.s.Holds(idDeleteSoft, fmt.Sprintf("DELETE answered %s; the person is still there with %s %q", answer, fieldStatus, tu.Status.v))
		return true
	}
	c.s.Fails(idDeleteSoft, fmt.Sprintf("after DELETE the %s is %q", fieldStatus, tu.Status.v),
		"DELETE did not deactivate the person: deactivations from the IdP would not take effect (the bridge answers 500). Report it.")
	c.s.Skip(idReactivateState, "the person was never deactivated")
	return false
}

func (c *checkup) reactivateCheck(ctx context.Context, id int64) {
	ex, err := c.call(ctx, http.MethodPatch, pathUser(id), nil, statusBody(statusActive))
	if err != nil {
		c.s.Fails(idReactivateState, doctor.Describe(ex, err), "Trainual refused the reactivation: reactivate such people in Trainual's UI, and report the answer.")
		return
	}
	tu, ex, err := c.get(ctx, id)
	switch {
	case err != nil:
		c.s.Fails(idReactivateState, "reading back: "+doctor.Describe(ex, err), "Report the answer.")
	case tu.isDeactivated():
		c.s.Fails(idReactivateState, fmt.Sprintf("%s is still %q", fieldStatus, tu.Status.v),
			"Reactivating a person from the IdP would fail (the bridge answers 500 and logs it): reactivate such people in Trainual's UI, and report it.")
	default:
		c.s.Holds(idReactivateState, fmt.Sprintf("%s %q", fieldStatus, tu.Status.v))
	}
}

// cleanup leaves nothing of the test person active: Trainual's DELETE deactivates, so the person stays, deactivated,
// holding no seat. It runs even when the walk stopped early or the run was interrupted.
func (c *checkup) cleanup(ctx context.Context, p *testPerson) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if p.lost {
		c.findTestPerson(ctx, p)
	}
	if len(p.ids) == 0 {
		if p.lost {
			c.s.Note("The test person %s may exist in Trainual although its create answer was lost; the doctor could not find them. Check Trainual's UI.", p.email)
		}
		return
	}
	for _, id := range p.ids {
		if p.gone && id == p.ids[0] {
			c.s.Note("Nothing is left of the test person %s: Trainual's DELETE removed them.", p.email)
			continue
		}
		tu, ex, err := c.get(ctx, id)
		switch {
		case ex.Status == http.StatusNotFound:
			c.s.Note("Nothing is left of the test person %s (Trainual id %d).", p.email, id)
			continue
		case err == nil && !tu.isDeactivated():
			// A second DELETE of a deactivated person might do something unconfirmed, so only an active one gets it.
			if ex, err := c.call(ctx, http.MethodDelete, pathUser(id), nil, nil); err != nil {
				c.s.Note("Could not deactivate the test person %s (Trainual id %d): %s. Deactivate them in Trainual's UI.", p.email, id, doctor.Describe(ex, err))
				continue
			}
			tu, ex, err = c.get(ctx, id)
		}
		switch {
		case ex.Status == http.StatusNotFound:
			c.s.Note("Nothing is left of the test person %s (Trainual id %d): DELETE removed them.", p.email, id)
		case err != nil || !tu.isDeactivated():
			c.s.Note("The test person %s (Trainual id %d) may still be active: deactivate them in Trainual's UI.", p.email, id)
		default:
			c.s.Note("The test person %s (Trainual id %d) is left deactivated: Trainual's DELETE deactivates and its API offers no removal. "+
				"They hold no seat; delete them in Trainual's UI if you want them gone.", p.email, id)
		}
	}
}

// findTestPerson looks the test e-mail up, which is safe because the walk proved nobody had it before.
func (c *checkup) findTestPerson(ctx context.Context, p *testPerson) bool {
	u, _, err := c.s.FindByEmail(ctx, c.a, p.email)
	n, ok := parseID(u.ID)
	if err != nil || !ok {
		return false
	}
	if !slices.Contains(p.ids, n) {
		p.ids = append([]int64{n}, p.ids...)
	}
	p.lost = false
	return true
}

func (c *checkup) get(ctx context.Context, id int64) (trainualUser, doctor.Exchange, error) {
	ex, err := c.call(ctx, http.MethodGet, pathUser(id), nil, nil)
	if err != nil {
		return trainualUser{}, ex, err
	}
	var env userEnvelope
	if derr := json.Unmarshal(ex.Body, &env); derr != nil || env.User == nil {
		return trainualUser{}, ex, fmt.Errorf("the answer is not {%q:{…}} (%s)", keyUser, doctor.Shape(ex.Body))
	}
	return *env.User, ex, nil
}

// differing lists the fields of want that tu does not hold as given.
func differing(want map[string]string, tu trainualUser) []string {
	got := map[string]string{fieldFirstName: tu.FirstName.v, fieldLastName: tu.LastName.v, fieldTitle: tu.Title.v,
		fieldDepartment: tu.Department.v, fieldEmail: tu.Email.v, fieldRole: tu.Role.v}
	var out []string
	for _, f := range []string{fieldEmail, fieldFirstName, fieldLastName, fieldTitle, fieldDepartment, fieldRole} {
		if w, ok := want[f]; ok && !strings.EqualFold(got[f], w) {
			out = append(out, f)
		}
	}
	return out
}

func dropAdvice(fields []string) string {
	var scim []string
	for _, f := range fields {
		scim = append(scim, scimNames[f])
	}
	return fmt.Sprintf("Trainual does not store %s as sent: changes to %s in the IdP will not reach Trainual, and the IdP will see them undone on its next read. "+
		"Report it; the field names live in adapters/trainual/wire.go.", strings.Join(fields, ", "), strings.Join(scim, ", "))
}

func holds(users []trainualUser, id int64) bool {
	return slices.ContainsFunc(users, func(u trainualUser) bool { return int64(u.ID) == id })
}
