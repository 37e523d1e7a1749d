package scim

import (
	"errors"
	"fmt"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/patch"
)

// TestTheLibraryStillJudgesEveryPatch: bodies scim/patch normalises and can apply, but the library's PATCH
// validation refuses, are refused with the library's scimType; the library's verdict is remembered per body.
func TestTheLibraryStillJudgesEveryPatch(t *testing.T) {
	for _, tc := range []struct {
		name, ops string
		scimType  scimerrors.ScimType // "" when the library accepts the body
	}{
		{"Okta's deactivation", `{"op":"replace","value":{"active":false}}`, ""},
		{"a work e-mail by value filter", `{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@example.com"}`, ""},
		{"a bare string for a multi-valued complex attribute", `{"op":"add","path":"emails","value":"0"}`, scimerrors.ScimTypeInvalidValue},
		{"a binary value that is not base64", `{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`, scimerrors.ScimTypeInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			norm, err := patch.Normalize([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + tc.ops + `]}`))
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			for range 2 { // the second answer comes from patchVerdicts
				err := libraryAcceptsPatch(norm)
				if tc.scimType == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					continue
				}
				var se scimerrors.ScimError
				if !errors.As(err, &se) || se.ScimType != tc.scimType {
					t.Fatalf("got %v, want the library's %s", err, tc.scimType)
				}
				if a := answer(err, "", ""); a.Status != 400 || a.ScimType != tc.scimType {
					t.Fatalf("answered %+v", a)
				}
			}
		})
	}
}

func TestVerdictCacheIsBounded(t *testing.T) {
	c := verdictCache{max: 4, maxBody: 8}
	for i := range 10 {
		c.put(fmt.Appendf(nil, "b%d", i), nil)
		if len(c.m) > c.max {
			t.Fatalf("%d entries, max %d", len(c.m), c.max)
		}
	}
	c.put([]byte("a body over the size limit"), scimerrors.ScimErrorInvalidValue)
	if known, _ := c.get([]byte("a body over the size limit")); known {
		t.Error("a body over maxBody was remembered")
	}
	if known, err := c.get([]byte("b9")); !known || err != nil {
		t.Errorf("the last verdict was forgotten: %v %v", known, err)
	}
}
