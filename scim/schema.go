package scim

import (
	"sync"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// github.com/elimity-com/scim is the schema authority. Its User schema and enterprise extension are what
// /Schemas and /ResourceTypes publish (discovery.go), what POST and PUT bodies are validated against
// (validateUser), and, through scim/internal/userschema, what scim/patch and scim/filter resolve paths with and
// check PATCH values against (by the rules of the library's PATCH validation, which scim/patch's tests hold it
// to). Its error values are the 400s of all of these. The /Users endpoints themselves are ours (users.go,
// search.go).

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
