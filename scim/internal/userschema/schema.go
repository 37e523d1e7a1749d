package userschema

import (
	"strings"
	"sync"

	"github.com/elimity-com/scim/schema"
)

const (
	// CoreURN is the URN of the core User schema.
	CoreURN = schema.UserSchema
	// EnterpriseURN is the URN of the enterprise User extension; its attributes live in a nested object under
	// this key.
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// Attribute types, as the library spells them.
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeReference = "reference"
	TypeBinary    = "binary"
	TypeComplex   = "complex"
)

// Attr is the part of an attribute definition that patching and filtering need.
type Attr struct {
	Name        string // canonical name
	Type        string // one of the Type constants
	MultiValued bool
	CaseExact   bool
	Required    bool
	Mutability  string // readWrite, readOnly, writeOnly or immutable
	Returned    string
	Parent      *Attr   // nil for top-level attributes
	Schema      *Schema // the schema that defines the attribute (or its parent)
	subs        []*Attr
}

// Sub returns the sub-attribute called name (case-insensitive), or nil.
func (a *Attr) Sub(name string) *Attr {
	if a == nil {
		return nil
	}
	for _, s := range a.subs {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Subs returns the sub-attributes in schema order.
func (a *Attr) Subs() []*Attr { return a.subs }

// Complex reports whether the attribute has sub-attributes.
func (a *Attr) Complex() bool { return a.Type == TypeComplex }

// Writable reports whether a client may set the attribute: readOnly attributes are maintained by the service
// provider and immutable ones (schemas) cannot change once set.
func (a *Attr) Writable() bool {
	return a.Mutability != "readOnly" && a.Mutability != "immutable"
}

// Path returns the attribute's path as used in PATCH paths, e.g. "name.givenName" or
// "urn:…:enterprise:2.0:User:manager.value".
func (a *Attr) Path() string {
	top := a
	var sub string
	if a.Parent != nil {
		top, sub = a.Parent, "."+a.Name
	}
	prefix := ""
	if top.Schema != nil && top.Schema.URN != CoreURN {
		prefix = top.Schema.URN + ":"
	}
	return prefix + top.Name + sub
}

// Schema is a set of top-level attributes identified by a URN.
type Schema struct {
	URN   string
	attrs []*Attr
}

// Attr returns the top-level attribute called name (case-insensitive), or nil.
func (s *Schema) Attr(name string) *Attr {
	for _, a := range s.attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// Attrs returns the top-level attributes in schema order.
func (s *Schema) Attrs() []*Attr { return s.attrs }

var schemas = sync.OnceValues(func() (*Schema, *Schema) {
	core := &Schema{URN: CoreURN}
	// The common attributes (id, externalId, meta, schemas) sit next to the core ones in a resource, so they
	// are looked up together.
	for _, ca := range append(schema.CommonAttributes(), schema.CoreUserSchema().Attributes...) {
		core.attrs = append(core.attrs, convert(ca, nil, core))
	}
	ent := &Schema{URN: EnterpriseURN}
	for _, ca := range schema.ExtensionEnterpriseUser().Attributes {
		ent.attrs = append(ent.attrs, convert(ca, nil, ent))
	}
	return core, ent
})

func convert(ca schema.CoreAttribute, parent *Attr, s *Schema) *Attr {
	a := &Attr{
		Name:        ca.Name(),
		Type:        ca.AttributeType(),
		MultiValued: ca.MultiValued(),
		CaseExact:   ca.CaseExact(),
		Required:    ca.Required(),
		Mutability:  ca.Mutability(),
		Returned:    ca.Returned(),
		Parent:      parent,
		Schema:      s,
	}
	for _, sub := range ca.SubAttributes() {
		a.subs = append(a.subs, convert(sub, a, s))
	}
	return a
}

// Core returns the core User schema together with the common attributes id, externalId, meta and schemas.
func Core() *Schema {
	c, _ := schemas()
	return c
}

// Enterprise returns the enterprise User extension schema.
func Enterprise() *Schema {
	_, e := schemas()
	return e
}

// ForURN returns the schema identified by urn (case-insensitive); "" means the core schema. It returns nil for
// an unknown URN.
func ForURN(urn string) *Schema {
	switch {
	case urn == "" || strings.EqualFold(urn, CoreURN):
		return Core()
	case strings.EqualFold(urn, EnterpriseURN):
		return Enterprise()
	}
	return nil
}
