package userschema

import "testing"

// TestLookupReflectsTheLibrarySchemas pins the characteristics the patch and filter rules depend on, so that a
// library upgrade that changes them fails here first.
func TestLookupReflectsTheLibrarySchemas(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		typ        string
		multi      bool
		caseExact  bool
		mutability string
	}{
		{"userName is a case-insensitive string", "USERNAME", TypeString, false, false, "readWrite"},
		{"active is a boolean", "active", TypeBoolean, false, false, "readWrite"},
		{"id is caseExact and read-only", "id", TypeString, false, true, "readOnly"},
		{"externalId is caseExact", "externalId", TypeString, false, true, "readWrite"},
		{"meta.created is a read-only dateTime", "meta.created", TypeDateTime, false, false, "readOnly"},
		{"groups is read-only", "groups", TypeComplex, true, false, "readOnly"},
		{"emails is multi-valued and complex", "emails", TypeComplex, true, false, "readWrite"},
		{"emails.primary is a boolean", "emails.primary", TypeBoolean, false, false, "readWrite"},
		{"password is write-only", "password", TypeString, false, false, "writeOnly"},
		{"a bare manager resolves to the enterprise extension", "manager", TypeComplex, false, false, "readWrite"},
		{"manager.displayName is read-only", EnterpriseURN + ":manager.displayName", TypeString, false, false, "readOnly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ResolvePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			a := p.Target()
			if a.Type != tt.typ || a.MultiValued != tt.multi || a.CaseExact != tt.caseExact || a.Mutability != tt.mutability {
				t.Errorf("%s = %+v", tt.path, *a)
			}
		})
	}
}

func TestResolvePathRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "nosuch", "name.nosuch", "title.x", "name[givenName eq \"x\"]", "emails.value[type eq \"x\"]",
		"urn:x:y:title", CoreURN, "emails[nosuch eq 1]", "emails[type eq"} {
		if _, err := ResolvePath(p); err == nil {
			t.Errorf("ResolvePath(%q) succeeded", p)
		}
	}
	if p, err := ResolvePath(EnterpriseURN); err != nil || p.Extension != Enterprise() {
		t.Errorf("the bare enterprise URN = %+v, %v", p, err)
	}
}
