package patch

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

// patchRecorder is a /Users handler that only accepts PATCH, so that a test sees what the library let through.
type patchRecorder struct{ calls int }

func (h *patchRecorder) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (h *patchRecorder) Get(*http.Request, string) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (h *patchRecorder) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, scimerrors.ScimErrorInternal
}
func (h *patchRecorder) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (h *patchRecorder) Delete(*http.Request, string) error { return scimerrors.ScimErrorInternal }
func (h *patchRecorder) Patch(_ *http.Request, id string, _ []scim.PatchOperation) (scim.Resource, error) {
	h.calls++
	return scim.Resource{ID: id, Attributes: scim.ResourceAttributes{"userName": "u"}}, nil
}

// TestTheLibraryAcceptsEveryNormalizedBody runs each IdP body through the pinned elimity library, without its
// global string-value switch: the raw Entra bodies are what it refuses, the normalised ones must pass.
func TestTheLibraryAcceptsEveryNormalizedBody(t *testing.T) {
	h := &patchRecorder{}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportPatch: true},
		ResourceTypes: []scim.ResourceType{{
			Name:             "User",
			Endpoint:         "/Users",
			Schema:           schema.CoreUserSchema(),
			SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
			Handler:          h,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	send := func(body []byte) int {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/Users/1", bytes.NewReader(body)))
		return rec.Code
	}
	refusedRaw := 0
	for _, name := range testdataFiles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if send(body) != http.StatusOK {
				refusedRaw++
			}
			norm, err := Normalize(body)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			before := h.calls
			if code := send(norm); code != http.StatusOK || h.calls != before+1 {
				t.Fatalf("the library answered %d to %s", code, norm)
			}
		})
	}
	// The fixtures must keep covering the shapes the library refuses on its own, or this test proves little.
	if refusedRaw < 3 {
		t.Errorf("only %d raw fixtures were refused by the library; the IdP quirks are not covered", refusedRaw)
	}
}
