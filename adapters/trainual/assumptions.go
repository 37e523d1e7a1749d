package trainual

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters/doctor"
)

// What this adapter assumes about Trainual, in one list: `scim-bridge doctor` observes each item on a live account
// (doctor.go), and docs/trainual.md ("Before go-live") names the same ids. The texts are built from wire.go's
// names and from the decoding structs' JSON tags, so a correction made in wire.go shows here at once.

// Assumption ids.
const (
	idAuth            = "auth.bearer"
	idListEnvelope    = "list.envelope"
	idListPageSize    = "list.page-size"
	idListLastPage    = "list.last-page"
	idFindEmailParam  = "find.email-param"
	idFindEmailCase   = "find.email-case"
	idGetEnvelope     = "get.envelope"
	idRateLimit       = "rate-limit"
	idCreateEcho      = "create.echo"
	idCreateInvites   = "create.invites"
	idCreateFields    = "create.fields"
	idUpdatePatch     = "update.patch"
	idUpdateEcho      = "update.echo"
	idUpdateClear     = "update.clear"
	idDuplicate       = "duplicate.refused"
	idDeleteSoft      = "delete.deactivates"
	idReactivateState = "reactivate.status"
)

// AssumedPageSize is the page size Trainual is taken to serve. Trainual documents none and the adapter asks for
// none (it takes each page as it comes); 25, a common Rails default, is what the emulator serves and what the
// cost of a lookup that walks the listing is estimated with.
const AssumedPageSize = 25

// JSON keys of the envelopes, read from the structs the adapter decodes with.
var (
	keyUsers = jsonKey(reflect.TypeFor[listEnvelope](), "Users")
	keyMeta  = jsonKey(reflect.TypeFor[listEnvelope](), "Meta")
	keyPage  = jsonKey(fieldType(reflect.TypeFor[listEnvelope](), "Meta"), "Page")
	keyTotal = jsonKey(fieldType(reflect.TypeFor[listEnvelope](), "Meta"), "Total")
	keyUser  = jsonKey(reflect.TypeFor[userEnvelope](), "User")
)

// fullFields are the fields GET /users/{id} is expected to hold; the adapter maps all but the timestamps.
var fullFields = []string{fieldID, fieldEmail, fieldFirstName, fieldLastName, fieldRole, fieldTitle, fieldDepartment,
	fieldStatus, "created_at", "updated_at"}

// Assumptions lists what the Trainual adapter expects of Trainual, in the order the doctor checks it.
func Assumptions() []doctor.Assumption {
	return []doctor.Assumption{
		{ID: idAuth, Title: "API key",
			Expected: "the key is accepted as `Authorization: Bearer <key>`"},
		{ID: idListEnvelope, Title: "listing envelope",
			Expected: fmt.Sprintf(`GET %s?%s=N answers {"%s":[…],"%s":{"%s":N,"%s":T}}; items carry %s and %s (%s may be absent)`,
				pathUsers, paramPage, keyUsers, keyMeta, keyPage, keyTotal, fieldID, fieldEmail, fieldStatus)},
		{ID: idListPageSize, Title: "page size",
			Expected: fmt.Sprintf("%d users a page (undocumented; the bridge asks for no size and takes pages as they come); %s=2 continues where %s=1 ended",
				AssumedPageSize, paramPage, paramPage)},
		{ID: idListLastPage, Title: "last page",
			Expected: fmt.Sprintf("a %s past the end answers an empty %q list", paramPage, keyUsers)},
		{ID: idFindEmailParam, Title: "e-mail lookup parameter",
			Expected: fmt.Sprintf("GET %s?%s=<address> lists only the person with that address (the parameter name is unpublished)", pathUsers, paramEmail)},
		{ID: idFindEmailCase, Title: "e-mail lookup ignores case",
			Expected: fmt.Sprintf("?%s= finds an address whatever its case", paramEmail)},
		{ID: idGetEnvelope, Title: "user read",
			Expected: fmt.Sprintf(`GET %s/{id} answers {"%s":{…}} with %s; %s is an integer`, pathUsers, keyUser, strings.Join(fullFields, ", "), fieldID)},
		{ID: idRateLimit, Title: "rate limits",
			Expected: "no rate-limit headers and no Retry-After (none documented); the bridge backs off on 429 by itself"},
		{ID: idCreateEcho, Title: "create answer", Write: true,
			Expected: fmt.Sprintf(`POST %s answers {"%s":{"%s":…,"%s":…,"%s":…}}: a short object with the new id, which the bridge reads back`,
				pathUsers, keyUser, fieldID, fieldEmail, fieldStatus)},
		{ID: idCreateInvites, Title: "invitation", Write: true,
			Expected: fmt.Sprintf("a new person is %q: Trainual e-mails an invitation and a seat is used at once", statusInvited)},
		{ID: idCreateFields, Title: "fields stored", Write: true,
			Expected: fmt.Sprintf("%s, %s, %s and %s are stored as sent", fieldFirstName, fieldLastName, fieldTitle, fieldDepartment)},
		{ID: idUpdatePatch, Title: "PATCH is partial", Write: true,
			Expected: fmt.Sprintf("PATCH %s/{id} with only %s changes %s and leaves every other field as it was", pathUsers, fieldTitle, fieldTitle)},
		{ID: idUpdateEcho, Title: "update answer", Write: true,
			Expected: fmt.Sprintf(`PATCH answers {"%s":{"%s":…, the fields changed}} (the bridge reads the user back anyway)`, keyUser, fieldID)},
		{ID: idUpdateClear, Title: "clearing a field", Write: true,
			Expected: fmt.Sprintf(`PATCH {"%s":""} empties %s`, fieldTitle, fieldTitle)},
		{ID: idDuplicate, Title: "duplicate e-mail", Write: true,
			Expected: fmt.Sprintf("a second POST %s with the same e-mail is refused with 422 and %q (409 is understood too); the IdP gets 409 and links the person",
				pathUsers, takenPhrases[0])},
		{ID: idDeleteSoft, Title: "DELETE deactivates", Write: true,
			Expected: fmt.Sprintf("DELETE %s/{id} keeps the person with %s %q (history kept, seat freed)", pathUsers, fieldStatus, statusDeactivated)},
		{ID: idReactivateState, Title: "reactivation", Write: true,
			Expected: fmt.Sprintf(`PATCH {"%s":"%s"} makes a deactivated person active again`, fieldStatus, statusActive)},
	}
}

func fieldType(t reflect.Type, name string) reflect.Type {
	f, ok := t.FieldByName(name)
	if !ok {
		panic("trainual: no field " + name + " in " + t.Name())
	}
	return f.Type
}

// jsonKey is the JSON name of a struct field, so the doctor and the adapter read the same key.
func jsonKey(t reflect.Type, name string) string {
	f, ok := t.FieldByName(name)
	if !ok {
		panic("trainual: no field " + name + " in " + t.Name())
	}
	key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return key
}
