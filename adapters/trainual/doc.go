// Package trainual provisions users into Trainual through its REST API (https://app.trainual.com/api/v1).
//
// Mapping: userName ⇄ email, name.givenName ⇄ first_name, name.familyName ⇄ last_name, title ⇄ title, the
// enterprise department ⇄ department, the primary role ⇄ role, active ⇄ status (anything but "deactivated" is
// active, "invited" included). The id is Trainual's integer id in decimal. Trainual holds no externalId.
//
// Trainual's public documentation is sparse and the vendor seed this package follows says so itself. What the
// adapter assumes, each to verify against a live account (names live in wire.go so a correction is local):
//   - the envelopes {"users":[...],"meta":{"page","total"}} and {"user":{...}}, and that a list item may hold fewer
//     fields than GET /users/{id} (the seed's list example has no status): List reports only the attributes an item
//     holds, and an item without status as active; Get and FindByEmail read the full object;
//   - POST and PATCH answer a short object, so both are followed by a GET;
//   - the email filter is sent as ?email= (the seed names no parameter); FindByEmail matches case-insensitively
//     itself and walks every page when the filter is ignored;
//   - no page size is documented, so none is requested and a page is taken as the vendor sends it;
//   - DELETE deactivates: every DELETE is confirmed by a GET; a 404 there means Trainual hard-deleted the user and
//     is reported as NotFound (and logged), a status other than "deactivated" as Internal;
//   - reactivation is PATCH {"status":"active"} (the seed lists status as writable on update without values); if
//     Trainual keeps the user deactivated the adapter reports Internal rather than a false success;
//   - duplicate emails and seat shortages come back as 409/422/402/403 with recognisable messages (classify.go);
//   - rate limits are undocumented and answered without Retry-After, so backoff is the bridge's own.
package trainual
