package scim_test

import (
	"net/http"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// TestPatchTheLibraryRefusesIsRefused: a PATCH that scim/patch could apply but github.com/elimity-com/scim's
// validation refuses is answered with the library's 400 and reaches neither the store nor the vendor, as when the
// library served /Users.
func TestPatchTheLibraryRefusesIsRefused(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		r := b.Do(t, "POST", "/Users", scimtest.User("library.judges@example.com", "Lib", "Judge"))
		assertStatus(t, r, http.StatusCreated)
		id, etag := str(r.Body, "id"), r.Header.Get("Etag")
		writes := edgeWrites(b)
		for _, op := range []string{
			`{"op":"add","path":"emails","value":"0"}`,
			`{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`,
		} {
			assertSCIMError(t, b.Do(t, "PATCH", "/Users/"+id, edgePatch(op)), http.StatusBadRequest, "invalidValue")
		}
		if n := edgeWrites(b); n != writes {
			t.Errorf("%d vendor writes for refused PATCHes", n-writes)
		}
		if g := b.Do(t, "GET", "/Users/"+id, nil); g.Header.Get("Etag") != etag {
			t.Errorf("the version moved from %s to %s", etag, g.Header.Get("Etag"))
		}
	})
}
