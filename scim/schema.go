package scim

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// github.com/elimity-com/scim is the schema authority. Its User schema and enterprise extension are what
// /Schemas and /ResourceTypes publish (discovery.go), what POST and PUT bodies are validated against
// (validateUser), what every PATCH is validated against (libraryAcceptsPatch), and, through
// scim/internal/userschema, what scim/patch and scim/filter resolve paths with. Its error values are the 400s
// of all of these. The /Users endpoints themselves are ours (users.go, search.go).

const (
	schemaUser       = schema.UserSchema
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaSearch     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// userResourceType describes /Users to the library. It has no handler of ours: the router sends /Users requests
// to users.go and search.go, never to the library.
func userResourceType() elimity.ResourceType {
	return elimity.ResourceType{
		ID:               optional.NewString("User"),
		Name:             "User",
		Description:      optional.NewString("User Account"),
		Endpoint:         "/Users",
		Schema:           schema.CoreUserSchema(),
		SchemaExtensions: []elimity.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
	}
}

// userSchemas are the library's schemas as validateUser uses them: the core User schema with the common
// externalId attribute (as the library adds it for POST and PUT), and the enterprise extension.
var userSchemas = sync.OnceValues(func() (schema.Schema, schema.Schema) {
	core := schema.CoreUserSchema()
	core.Attributes = append(core.Attributes[:len(core.Attributes):len(core.Attributes)], schema.SimpleCoreAttribute(
		schema.SimpleStringParams(schema.StringParams{
			CaseExact:  true,
			Mutability: schema.AttributeMutabilityReadWrite(),
			Name:       schema.CommonAttributeExternalID,
			Uniqueness: schema.AttributeUniquenessNone(),
		})))
	return core, schema.ExtensionEnterpriseUser()
})

// validateUser is the library's POST and PUT validation, the steps its own resource handlers run before calling a
// handler: the core schema (the "schemas" list must name it; every attribute type-checked; userName required;
// unknown and read-only attributes dropped; names made canonical), then the enterprise extension nested under its
// URN. Errors are the library's values.
func validateUser(doc map[string]any) (map[string]any, error) {
	core, ext := userSchemas()
	attrs, serr := core.Validate(doc)
	if serr != nil {
		return nil, *serr
	}
	if raw := doc[ext.ID]; raw != nil {
		ea, serr := ext.ValidateExtension(raw)
		if serr != nil {
			return nil, *serr
		}
		attrs[ext.ID] = ea
	}
	return attrs, nil
}

// patchValidator is a library server whose /Users handler accepts every PATCH it is given, so that its answer is
// the library's verdict on the body alone. The library's PATCH validation (paths, value types — a binary value
// must be base64, a complex attribute takes no bare string —, mutability) has no exported entry point, and
// scim/patch, which normalises the body first, checks less; so each normalised body goes through it before it is
// applied, as it did when the library served /Users.
var patchValidator = sync.OnceValue(func() http.Handler {
	t := userResourceType()
	t.Handler = acceptPatch{}
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{SupportPatch: true},
		ResourceTypes:         []elimity.ResourceType{t},
	})
	if err != nil {
		panic("scim: the PATCH validator cannot be built: " + err.Error())
	}
	return srv
})

// libraryAcceptsPatch returns nil when the library accepts a normalised PATCH body, or its error value.
func libraryAcceptsPatch(body []byte) error {
	if known, err := patchVerdicts.get(body); known {
		return err
	}
	err := askLibrary(body)
	patchVerdicts.put(body, err)
	return err
}

// patchVerdicts remembers the library's verdict on the normalised bodies it has judged. A verdict depends on the
// body alone (the schemas are fixed), the IdPs send the same few bodies for every user (Okta's deactivate and
// reactivate are byte-for-byte the same), and one verdict costs about a thousand allocations in the library's
// path parser. Bounded: small bodies only, and the whole memory is dropped when it is full.
var patchVerdicts = verdictCache{max: 1024, maxBody: 2 << 10}

type verdictCache struct {
	max, maxBody int
	mu           sync.Mutex
	m            map[string]error
}

func (c *verdictCache) get(body []byte) (known bool, err error) {
	if len(body) > c.maxBody {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err, known = c.m[string(body)]
	return known, err
}

func (c *verdictCache) put(body []byte, err error) {
	if len(body) > c.maxBody {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]error, c.max)
	}
	c.m[string(body)] = err
}

// askLibrary runs the library's PATCH validation on body.
func askLibrary(body []byte) error {
	req := &http.Request{Method: http.MethodPatch, URL: &url.URL{Path: "/Users/patch"}, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body))}
	var v verdict
	patchValidator().ServeHTTP(&v, req)
	if v.status == 0 || v.status < 300 {
		return nil
	}
	var se scimerrors.ScimError
	if se.UnmarshalJSON(v.body.Bytes()) != nil {
		return scimerrors.ScimErrorInvalidValue
	}
	return se
}

// verdict records the validator's answer.
type verdict struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (v *verdict) Header() http.Header {
	if v.header == nil {
		v.header = http.Header{}
	}
	return v.header
}

func (v *verdict) WriteHeader(s int) {
	if v.status == 0 {
		v.status = s
	}
}

func (v *verdict) Write(b []byte) (int, error) {
	if v.status == 0 {
		v.status = http.StatusOK
	}
	return v.body.Write(b)
}

// acceptPatch is the validator's handler: a PATCH the library lets through is accepted with an empty answer; it
// is never asked anything else.
type acceptPatch struct{}

var _ elimity.ResourceHandler = acceptPatch{}

func (acceptPatch) Patch(*http.Request, string, []elimity.PatchOperation) (elimity.Resource, error) {
	return elimity.Resource{}, nil
}

func (acceptPatch) Create(*http.Request, elimity.ResourceAttributes) (elimity.Resource, error) {
	return elimity.Resource{}, scimerrors.ScimErrorInternal
}

func (acceptPatch) Get(*http.Request, string) (elimity.Resource, error) {
	return elimity.Resource{}, scimerrors.ScimErrorInternal
}

func (acceptPatch) GetAll(*http.Request, elimity.ListRequestParams) (elimity.Page, error) {
	return elimity.Page{}, scimerrors.ScimErrorInternal
}

func (acceptPatch) Replace(*http.Request, string, elimity.ResourceAttributes) (elimity.Resource, error) {
	return elimity.Resource{}, scimerrors.ScimErrorInternal
}

func (acceptPatch) Delete(*http.Request, string) error { return scimerrors.ScimErrorInternal }
