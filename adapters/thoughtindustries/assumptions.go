package thoughtindustries

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters/doctor"
)

// What this adapter assumes about Thought Industries, in one list: `scim-bridge doctor` observes each item on a
// live tenant (doctor.go), and docs/thoughtindustries.md ("Before go-live") names the same ids. The texts are built
// from wire.go's names, so a correction made there shows here at once.

// Assumption ids.
const (
	idAuth           = "auth.header"
	idListEnvelope   = "list.envelope"
	idListPageSize   = "list.page-size"
	idListPerPage    = "list.per-page"
	idListLastPage   = "list.last-page"
	idFindEmailParam = "find.email-param"
	idFindEmailCase  = "find.email-case"
	idGetEnvelope    = "get.envelope"
	idRateLimit      = "rate-limit"
	idCreateEcho     = "create.echo"
	idCreateFields   = "create.fields"
	idCustomFields   = "custom-fields"
	idUpdatePut      = "update.put"
	idUpdateEcho     = "update.echo"
	idUpdateClear    = "update.clear"
	idUpdateReplace  = "update.replace"
	idDeactivate     = "deactivate.active"
	idReactivate     = "reactivate.active"
	idDuplicate      = "duplicate.refused"
	idDeletePerm     = "delete.permanent"
)

// AssumedDefaultPerPage is the page size without per_page ("default page size is 25"). The adapter always sends
// per_page, so it matters only to the docs and the emulator.
const AssumedDefaultPerPage = 25

// keyTotal is the listing's total, read from the struct the adapter decodes with.
var keyTotal = func() string {
	f, _ := reflect.TypeFor[listEnvelope]().FieldByName("Total")
	k, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return k
}()

// readFields are the fields GET /users/{id} is expected to hold; the essential ones decide identity and state.
var (
	readFields      = []string{fieldID, fieldEmail, fieldFirstName, fieldLastName, fieldActive, fieldCustomFields, fieldSSOID, fieldLanguage, fieldRole, fieldCreatedAt, fieldUpdatedAt}
	essentialFields = []string{fieldID, fieldEmail, fieldActive}
)

// Assumptions lists what the Thought Industries adapter expects of Thought Industries, in the order the doctor
// checks it.
func Assumptions() []doctor.Assumption {
	return []doctor.Assumption{
		{ID: idAuth, Title: "API key in a header",
			Expected: fmt.Sprintf("the key is accepted in the `%s` header (the bridge never puts it in the query string)", headerAPIKey)},
		{ID: idListEnvelope, Title: "listing envelope",
			Expected: fmt.Sprintf(`GET %s?%s=N&%s=S answers {"%s":[…],"%s":T}; items carry %s and %s`, pathUsers, paramPage, paramPerPage, envelopeUsers, keyTotal, fieldID, fieldEmail)},
		{ID: idListPageSize, Title: "default page size",
			Expected: fmt.Sprintf("without %s, %d users a page (the bridge always sends %s)", paramPerPage, AssumedDefaultPerPage, paramPerPage)},
		{ID: idListPerPage, Title: "page size maximum",
			Expected: fmt.Sprintf("%s is honoured up to %d, and %s=N of size S starts at person (N-1)×S+1; the bridge asks for %d and reads a shorter page as the last",
				paramPerPage, maxPerPage, paramPage, maxPerPage)},
		{ID: idListLastPage, Title: "last page",
			Expected: fmt.Sprintf("a %s past the end answers an empty %q list", paramPage, envelopeUsers)},
		{ID: idFindEmailParam, Title: "e-mail lookup parameter",
			Expected: fmt.Sprintf("GET %s?%s=<address> lists only the person with that address", pathUsers, paramEmail)},
		{ID: idFindEmailCase, Title: "e-mail lookup ignores case",
			Expected: fmt.Sprintf("?%s= finds an address whatever its case (the bridge also asks again in lower case)", paramEmail)},
		{ID: idGetEnvelope, Title: "user read",
			Expected: fmt.Sprintf(`GET %s/{id} answers {"%s":{…}} with %s`, pathUsers, envelopeUser, strings.Join(readFields, ", "))},
		{ID: idRateLimit, Title: "rate limits",
			Expected: "no rate-limit headers and no Retry-After (none documented); the bridge backs off on 429 by itself"},
		{ID: idCreateEcho, Title: "create answer", Write: true,
			Expected: fmt.Sprintf(`POST %s answers {"%s":{…}} with the new %s (a short object; the bridge reads back what it lacks)`, pathUsers, envelopeUser, fieldID)},
		{ID: idCreateFields, Title: "fields stored", Write: true,
			Expected: fmt.Sprintf("%s, %s, %s and %s are stored as sent", fieldFirstName, fieldLastName, fieldLanguage, fieldActive)},
		{ID: idCustomFields, Title: "custom-field keys", Write: true,
			Expected: fmt.Sprintf("every key of %s is defined in the admin portal, so a value written to %s.<key> sticks", EnvCustomFields, fieldCustomFields)},
		{ID: idUpdatePut, Title: "read-merge-write PUT", Write: true,
			Expected: fmt.Sprintf("PUT %s/{id} of the object read (without %s), one field changed, changes that field and keeps the others",
				pathUsers, strings.Join(systemFields, ", "))},
		{ID: idUpdateEcho, Title: "update answer", Write: true,
			Expected: fmt.Sprintf(`PUT answers the whole {"%s":{…}} (otherwise the bridge reads the person back)`, envelopeUser)},
		{ID: idUpdateClear, Title: "clearing with null", Write: true,
			Expected: fmt.Sprintf("a field sent as null (%s here) is cleared", fieldLastName)},
		{ID: idUpdateReplace, Title: "PUT replaces", Write: true,
			Expected: "PUT replaces the whole person: a field left out is cleared (the bridge always sends the whole object, so a merging PUT is safe too)"},
		{ID: idDeactivate, Title: "deactivation", Write: true,
			Expected: fmt.Sprintf(`PUT with "%s":false deactivates the person and keeps them`, fieldActive)},
		{ID: idReactivate, Title: "reactivation", Write: true,
			Expected: fmt.Sprintf(`PUT with "%s":true makes them active again`, fieldActive)},
		{ID: idDuplicate, Title: "duplicate e-mail", Write: true,
			Expected: fmt.Sprintf("a second POST %s with the same e-mail is refused with 422 and a body saying the e-mail is taken (409 is understood too); the IdP gets 409 and links the person", pathUsers)},
		{ID: idDeletePerm, Title: "DELETE is permanent", Write: true,
			Expected: fmt.Sprintf("DELETE %s/{id} removes the person and their learning history for good (the bridge calls it only with %s=%s)", pathUsers, EnvDeleteMode, deleteHard)},
	}
}
