package scim_test

import (
	"net/http"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// TestPatchTheLibraryRefusesIsRefused: a PATCH that scim/patch could apply but github.com/elimity-com/scim's PATCH
// validation refuses is answered with the library's 400 and scimType, and reaches neither the store nor the vendor,
// as when the library served /Users (scim/patch checks by the library's rules; its tests compare the verdicts).
func TestPatchTheLibraryRefusesIsRefused(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		r := b.Do(t, "POST", "/Users", scimtest.User("library.judges@example.com", "Lib", "Judge"))
		assertStatus(t, r, http.StatusCreated)
		id, etag := str(r.Body, "id"), r.Header.Get("Etag")
		writes := edgeWrites(b)
		for _, tc := range []struct{ op, scimType string }{
			{`{"op":"add","path":"emails","value":"0"}`, "invalidValue"},
			{`{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`, "invalidValue"},
			{`{"op":"replace","path":"name","value":[{"givenName":"One"}]}`, "invalidValue"},
			{`{"op":"add","path":"emails","value":[{"value":"a@example.com","VALUE":"b@example.com"}]}`, "invalidSyntax"},
			{`{"op":"replace","path":"name","value":{"id":"1","ID":"2","givenName":"Two"}}`, "invalidPath"},
		} {
			assertSCIMError(t, b.Do(t, "PATCH", "/Users/"+id, edgePatch(tc.op)), http.StatusBadRequest, tc.scimType)
		}
		if n := edgeWrites(b); n != writes {
			t.Errorf("%d vendor writes for refused PATCHes", n-writes)
		}
		if g := b.Do(t, "GET", "/Users/"+id, nil); g.Header.Get("Etag") != etag {
			t.Errorf("the version moved from %s to %s", etag, g.Header.Get("Etag"))
		}
	})
}
