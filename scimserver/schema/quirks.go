package schema

// Quirks is the catalogue of identity-provider deviations from RFC 7643 and
// RFC 7644 that the server accepts. Each field names one deviation and the
// vendor page that documents it; a deviation no vendor documents is not
// here and is refused in every mode. An endpoint's compatibility mode picks
// the set (Lenient: all of them, Strict: none), so "where is the Entra quirk
// handled?" is answered by the field's name: search the code for it.
// docs/compatibility.md lists the same deviations for operators.
//
// Not quirks, and so accepted in both modes because the RFCs allow them:
// Okta's read-only id and groups inside a PUT or a no-path PATCH value
// (ignored, RFC 7643 §2.2), Okta's password (write-only, never stored),
// Entra's "$ref": null inside a member (null means unassigned, RFC 7643
// §2.5), and Entra's client-sent meta on create (read-only, ignored).
type Quirks struct {
	// StringBooleans reads "True" and "False", in any case, where a boolean
	// belongs. Microsoft Entra ID disables users with
	// {"op":"Replace","path":"active","value":"False"} unless the tenant URL
	// carries the aadOptscim062020 flag: "Known issues and resolutions with
	// SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning
	// service", section "Requests made to disable users",
	// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
	StringBooleans bool

	// CapitalizedOps reads a PATCH op in any case ("Replace", "Add",
	// "Remove"). Every request Entra sends without the aadOptscim062020 flag
	// capitalises it: same page, all "Without feature flag" samples.
	CapitalizedOps bool

	// AttributePathKeys reads keys of a no-path PATCH add or replace value
	// as attribute paths: "name.givenName" and
	// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
	// rather than nested objects. Entra sends this form with the
	// aadOptscim062020 flag: same page, section "Requests to replace multiple
	// attributes".
	AttributePathKeys bool

	// RemoveWithValue reads a remove on a multi-valued attribute that
	// carries a value as "remove these elements":
	// {"op":"Remove","path":"members","value":[{"value":"<id>"}]}. Entra
	// removes group members this way without the aadOptscim062020 flag:
	// same page, section "Requests made to remove a group member". A
	// third-party JumpCloud setup guide reports JumpCloud removing members
	// the same way (docs/compatibility.md, JumpCloud).
	RemoveWithValue bool

	// ManagerAsString reads a bare string where a singular complex attribute
	// with a "value" sub-attribute belongs (the enterprise manager) as
	// {"value": "<string>"}. Entra's own example user carries
	// "manager": "<id>": "Tutorial: Develop and plan provisioning for a SCIM
	// endpoint in Microsoft Entra ID", table 1,
	// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
	// (reported as MicrosoftDocs/azure-docs#69234).
	ManagerAsString bool

	// FilteredPathCreates makes an add or replace on a filtered path that
	// matches no element, such as emails[type eq "work"].value, append an
	// element built from the filter's eq conditions and the value, instead
	// of answering noTarget (RFC 7644 §3.5.2.3). Entra updates emails, phone
	// numbers, addresses and roles only through such paths, whether or not
	// the element exists: the tutorial above, "Update User [Multi-valued
	// properties]", and the default attribute mappings in "Tutorial -
	// Customize user provisioning attribute-mappings for SaaS applications
	// in Microsoft Entra ID",
	// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes
	FilteredPathCreates bool

	// SubAttributeFilters reads the filter `attr[inner].sub op value`, which
	// RFC 7644's filter grammar does not have (a sub-attribute may follow a
	// value filter only in a PATCH path), as `attr[inner and sub op value]`.
	// Microsoft's SCIM validator and Entra's default email mapping send
	// emails[type eq "work"].value eq "x"; a Microsoft SCIM program manager
	// confirms Entra sends this non-RFC form and asks servers to accept it:
	// Stack Overflow question 76763662, "Is Microsoft Azure misusing the
	// SCIM RFC: emails[type eq "work"].value eq foo".
	SubAttributeFilters bool

	// ForeignSchemaURNs accepts a resource's "schemas" listing URIs the
	// resource type does not have beside one it has. Entra creates groups
	// with "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
	// listed after the core Group URN: the tutorial above, "Create Group".
	ForeignSchemaURNs bool

	// SchemasOptional accepts a resource body without "schemas", or whose
	// "schemas" repeats a URI or leaves out the core schema or an extension
	// the body carries attributes of, as long as it names one schema of
	// the resource type when present. No vendor page documents this; it is
	// what Lenient has always accepted and is kept until the conformance
	// suite's own schema-less bodies are migrated (docs/compatibility.md).
	SchemasOptional bool

	// IgnoreUnknownAttributes drops attributes and sub-attributes the schema
	// does not have instead of refusing the request. An Entra administrator
	// can map any directory attribute to a target attribute name of their
	// choosing, and Entra sends it whether or not the endpoint publishes it:
	// "Customize user provisioning attribute-mappings", section "Editing the
	// list of supported attributes" (page above).
	IgnoreUnknownAttributes bool

	// RolesAsJSONStrings reads a roles value that is a JSON-encoded object,
	// "{\"id\":\"<app role id>\",\"value\":\"<value>\",\"displayName\":\"<name>\"}",
	// as the role's value and, when the element has no display, its display;
	// the app role id is dropped. Entra ID sends app role assignments this
	// way in PATCH requests unless the tenant URL carries the
	// aadOptscim062020 flag: "Customize user provisioning attribute-mappings",
	// section "Provisioning a role to a SCIM app", SingleAppRoleAssignment's
	// example output (PATCH) and the note that PATCH and POST differ (page
	// above).
	RolesAsJSONStrings bool

	// BlankSubAttributes reads a sub-attribute of a person's name, emails,
	// phone numbers, instant messaging addresses, photos, addresses or
	// enterprise manager that is a blank string ("", or spaces only) as
	// unassigned, and drops an element of such a list, or a resource body's
	// name or manager, that is left with nothing but its type and primary
	// labels. OneLogin's SCIM provisioner sends the body of an admin-edited
	// "SCIM JSON Template", JSON text with a parameter substituted inside
	// each quoted string, so a parameter the user has no value for is sent
	// as "" and its template's manager display name
	// "{$user.manager_firstname} {$user.manager_lastname}" as " ": "Creating
	// SCIM Custom Connectors", OneLogin KB0013904,
	// https://onelogin.service-now.com/kb?id=kb_article_view&sysparm_article=KB0013904,
	// "Define Your SCIM User Schema",
	// https://developers.onelogin.com/scim/define-user-schema, and on how a
	// macro is evaluated, "Attribute Macros", OneLogin KB0010609. Never
	// members, groups, roles or entitlements: their elements name a resource
	// or a grant, and a blank one gets the same answer in every mode.
	BlankSubAttributes bool
}

// Lenient returns the catalogue with every documented deviation accepted:
// the ScimEndpoint compatibility mode Lenient.
func Lenient() Quirks {
	return Quirks{
		StringBooleans:          true,
		CapitalizedOps:          true,
		AttributePathKeys:       true,
		RemoveWithValue:         true,
		ManagerAsString:         true,
		FilteredPathCreates:     true,
		SubAttributeFilters:     true,
		ForeignSchemaURNs:       true,
		SchemasOptional:         true,
		IgnoreUnknownAttributes: true,
		RolesAsJSONStrings:      true,
		BlankSubAttributes:      true,
	}
}

// Strict returns the catalogue with no deviation accepted: the ScimEndpoint
// compatibility mode Strict, RFC 7643 and RFC 7644 only.
func Strict() Quirks { return Quirks{} }
