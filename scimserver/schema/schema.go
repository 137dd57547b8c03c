// Package schema describes the SCIM 2.0 schemas the server speaks (RFC 7643): the
// core User and Group schemas and the enterprise User extension. The filter, PATCH
// and rendering code consult these descriptions for attribute types, case
// sensitivity, plurality and mutability, and /Schemas serves them verbatim.
package schema

import "strings"

// URNs of the schemas and messages defined by RFC 7643 and RFC 7644.
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// RoleURN is the schema Okta Identity Governance discovers a catalog of
	// roles by (docs/governance.md); no RFC defines it.
	RoleURN = "urn:okta:scim:schemas:core:1.0:Role"

	ListResponseURN          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN               = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorURN                 = "urn:ietf:params:scim:api:messages:2.0:Error"
	ServiceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeURN          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaURN                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// Type is the data type of an attribute (RFC 7643 §2.3).
type Type string

// Attribute data types.
const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Binary    Type = "binary"
	Reference Type = "reference"
	Complex   Type = "complex"
)

// Mutability values (RFC 7643 §7).
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"
)

// Returned values (RFC 7643 §7).
const (
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Attribute describes one attribute or sub-attribute of a schema.
type Attribute struct {
	Name            string       `json:"name"`
	Type            Type         `json:"type"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
}

// Sub returns the sub-attribute called name (case-insensitively), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	return find(a.SubAttributes, name)
}

// Schema is one SCIM schema: a URN and its attributes.
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attr returns the top-level attribute called name (case-insensitively), or nil.
func (s *Schema) Attr(name string) *Attribute {
	return find(s.Attributes, name)
}

func find(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// ResourceType binds a core schema and its extensions to an endpoint (RFC 7643 §6).
type ResourceType struct {
	Name       string
	Endpoint   string
	Schema     *Schema
	Extensions []*Schema
}

// Extension returns the extension schema whose URN equals urn (case-insensitively), or nil.
func (rt *ResourceType) Extension(urn string) *Schema {
	for _, s := range rt.Extensions {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// Common attributes carried by every resource (RFC 7643 §3.1).
var (
	idAttr = &Attribute{Name: "id", Type: String, CaseExact: true, Mutability: ReadOnly,
		Returned: ReturnedAlways, Uniqueness: "server",
		Description: "Unique identifier of the resource, assigned by the service provider."}
	externalIDAttr = &Attribute{Name: "externalId", Type: String, CaseExact: true, Mutability: ReadWrite,
		Returned: ReturnedDefault, Uniqueness: "none",
		Description: "Identifier of the resource as defined by the provisioning client."}
	metaAttr = &Attribute{Name: "meta", Type: Complex, Mutability: ReadOnly, Returned: ReturnedDefault,
		Uniqueness: "none", Description: "Resource metadata.",
		SubAttributes: []*Attribute{
			str("resourceType", "Name of the resource type.", ReadOnly, true),
			{Name: "created", Type: DateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none",
				Description: "When the resource was added to the service provider."},
			{Name: "lastModified", Type: DateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none",
				Description: "When the resource was last modified."},
			{Name: "location", Type: Reference, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none",
				ReferenceTypes: []string{"uri"}, CaseExact: true, Description: "URI of the resource."},
			str("version", "Weak entity tag of the resource.", ReadOnly, true),
		}}
)

// Common returns the attributes shared by every resource type: id, externalId and meta.
func Common() []*Attribute { return []*Attribute{idAttr, externalIDAttr, metaAttr} }

// CommonAttr returns the common attribute called name (case-insensitively), or nil.
func CommonAttr(name string) *Attribute { return find(Common(), name) }

func str(name, desc, mutability string, caseExact bool) *Attribute {
	return &Attribute{Name: name, Type: String, Description: desc, Mutability: mutability,
		Returned: ReturnedDefault, Uniqueness: "none", CaseExact: caseExact}
}

func boolean(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: Boolean, Description: desc, Mutability: ReadWrite,
		Returned: ReturnedDefault, Uniqueness: "none"}
}

// multi builds a multi-valued complex attribute with the usual value/display/type/primary
// sub-attributes (RFC 7643 §2.4).
func multi(name, desc string, valueType Type, types ...string) *Attribute {
	value := str("value", "The value of the "+name+" entry.", ReadWrite, false)
	value.Type = valueType
	if valueType == Reference {
		// A URL such as a photo's, outside SCIM (RFC 7643 §8.7.1).
		value.ReferenceTypes = []string{"external"}
	}
	typ := str("type", "A label indicating the function of the entry.", ReadWrite, false)
	typ.CanonicalValues = types
	return &Attribute{Name: name, Type: Complex, MultiValued: true, Description: desc,
		Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none",
		SubAttributes: []*Attribute{
			value,
			str("display", "A human-readable name, primarily used for display purposes.", ReadWrite, false),
			typ,
			boolean("primary", "Indicates the primary or preferred value of the attribute."),
		}}
}
