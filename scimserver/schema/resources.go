package schema

// User is the core User schema (RFC 7643 §4.1).
var User = &Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: []*Attribute{
		{Name: "userName", Type: String, Required: true, Mutability: ReadWrite, Returned: ReturnedDefault,
			Uniqueness: "server", Description: "Unique identifier for the user, used to authenticate. Compared case-insensitively."},
		{Name: "name", Type: Complex, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none",
			Description: "The components of the user's real name.",
			SubAttributes: []*Attribute{
				str("formatted", "The full name, formatted for display.", ReadWrite, false),
				str("familyName", "The family name of the user.", ReadWrite, false),
				str("givenName", "The given name of the user.", ReadWrite, false),
				str("middleName", "The middle name(s) of the user.", ReadWrite, false),
				str("honorificPrefix", "The honorific prefix(es) of the user.", ReadWrite, false),
				str("honorificSuffix", "The honorific suffix(es) of the user.", ReadWrite, false),
			}},
		str("displayName", "The name of the user, suitable for display to end-users.", ReadWrite, false),
		str("nickName", "The casual way to address the user.", ReadWrite, false),
		{Name: "profileUrl", Type: Reference, ReferenceTypes: []string{"external"}, Mutability: ReadWrite,
			Returned: ReturnedDefault, Uniqueness: "none", Description: "A URI of the user's online profile."},
		str("title", "The user's title, such as \"Vice President\".", ReadWrite, false),
		str("userType", "The relationship between the organization and the user.", ReadWrite, false),
		str("preferredLanguage", "The user's preferred written or spoken language.", ReadWrite, false),
		str("locale", "The user's default location for localisation.", ReadWrite, false),
		str("timezone", "The user's time zone in IANA format.", ReadWrite, false),
		boolean("active", "The user's administrative status. False revokes access."),
		{Name: "password", Type: String, Mutability: WriteOnly, Returned: ReturnedNever, Uniqueness: "none",
			Description: "Accepted for compatibility and never stored."},
		multi("emails", "Email addresses for the user.", String, "work", "home", "other"),
		multi("phoneNumbers", "Phone numbers for the user.", String, "work", "home", "mobile", "fax", "pager", "other"),
		multi("ims", "Instant messaging addresses for the user.", String),
		multi("photos", "URLs of photos of the user.", Reference, "photo", "thumbnail"),
		{Name: "addresses", Type: Complex, MultiValued: true, Mutability: ReadWrite, Returned: ReturnedDefault,
			Uniqueness: "none", Description: "Physical mailing addresses for the user.",
			SubAttributes: []*Attribute{
				str("formatted", "The full mailing address, formatted for display.", ReadWrite, false),
				str("streetAddress", "The full street address component.", ReadWrite, false),
				str("locality", "The city or locality component.", ReadWrite, false),
				str("region", "The state or region component.", ReadWrite, false),
				str("postalCode", "The zip code or postal code component.", ReadWrite, false),
				str("country", "The country name component.", ReadWrite, false),
				{Name: "type", Type: String, CanonicalValues: []string{"work", "home", "other"}, Mutability: ReadWrite,
					Returned: ReturnedDefault, Uniqueness: "none", Description: "A label indicating the function of the address."},
				boolean("primary", "Indicates the primary address."),
			}},
		{Name: "groups", Type: Complex, MultiValued: true, Mutability: ReadOnly, Returned: ReturnedDefault,
			Uniqueness: "none", Description: "Groups the user belongs to. Read-only: change membership through /Groups.",
			SubAttributes: []*Attribute{
				str("value", "The id of the group.", ReadOnly, true),
				{Name: "$ref", Type: Reference, ReferenceTypes: []string{"Group"}, Mutability: ReadOnly,
					Returned: ReturnedDefault, Uniqueness: "none", CaseExact: true, Description: "The URI of the group."},
				str("display", "The displayName of the group.", ReadOnly, false),
				str("type", "How the membership was derived: direct or indirect.", ReadOnly, false),
			}},
		multi("entitlements", "Entitlements of the user.", String),
		userRoles,
		multi("x509Certificates", "Certificates of the user.", Binary),
	},
}

// userRoles is the User's roles attribute: each value names an entry of the
// endpoint's catalog (/Roles). Coerce recognises it by identity for the
// RolesAsJSONStrings quirk.
var userRoles = multi("roles", "Roles of the user: each value is the id of an entry of the endpoint's catalog (/Roles).", String)

// userRoleValue is roles.value, the target of Entra ID's
// roles[primary eq "True"].value.
var userRoleValue = userRoles.Sub("value")

// EnterpriseUser is the enterprise User extension (RFC 7643 §4.3).
var EnterpriseUser = &Schema{
	ID:          EnterpriseUserURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attributes: []*Attribute{
		str("employeeNumber", "Numeric or alphanumeric identifier assigned to the person.", ReadWrite, false),
		str("costCenter", "Name of a cost center.", ReadWrite, false),
		str("organization", "Name of an organization.", ReadWrite, false),
		str("division", "Name of a division.", ReadWrite, false),
		str("department", "Name of a department.", ReadWrite, false),
		{Name: "manager", Type: Complex, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none",
			Description: "The user's manager.",
			SubAttributes: []*Attribute{
				str("value", "The id of the manager.", ReadWrite, true),
				{Name: "$ref", Type: Reference, ReferenceTypes: []string{"User"}, Mutability: ReadWrite,
					Returned: ReturnedDefault, Uniqueness: "none", CaseExact: true, Description: "The URI of the manager."},
				str("displayName", "The displayName of the manager.", ReadOnly, false),
			}},
	},
}

// Group is the core Group schema (RFC 7643 §4.2).
var Group = &Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: []*Attribute{
		{Name: "displayName", Type: String, Required: true, Mutability: ReadWrite, Returned: ReturnedDefault,
			Uniqueness: "server", Description: "A human-readable name for the group, unique per endpoint (case-insensitively)."},
		{Name: "members", Type: Complex, MultiValued: true, Mutability: ReadWrite, Returned: ReturnedDefault,
			Uniqueness: "none", Description: "The members of the group.",
			SubAttributes: []*Attribute{
				{Name: "value", Type: String, CaseExact: true, Mutability: Immutable, Returned: ReturnedDefault,
					Uniqueness: "none", Description: "The id of the member."},
				{Name: "$ref", Type: Reference, ReferenceTypes: []string{"User", "Group"}, CaseExact: true,
					Mutability: Immutable, Returned: ReturnedDefault, Uniqueness: "none", Description: "The URI of the member."},
				{Name: "display", Type: String, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none",
					Description: "A human-readable name of the member."},
				{Name: "type", Type: String, CanonicalValues: []string{"User", "Group"}, Mutability: Immutable,
					Returned: ReturnedDefault, Uniqueness: "none", Description: "The type of the member."},
			}},
	},
}

// Role is the schema of an entry of an endpoint's catalog, served at /Roles
// for Okta Identity Governance. Entries are ScimEntitlements, written by
// cluster administrators: every attribute is read-only over SCIM.
var Role = &Schema{
	ID:          RoleURN,
	Name:        "Role",
	Description: "An access profile of the endpoint's catalog that the identity provider grants to users as a role.",
	Attributes: []*Attribute{
		{Name: "displayName", Type: String, Required: true, Mutability: ReadOnly, Returned: ReturnedDefault,
			Uniqueness: "none", Description: "The name an administrator or a requester sees."},
		{Name: "description", Type: String, Mutability: ReadOnly, Returned: ReturnedDefault,
			Uniqueness: "none", Description: "What the role gives, for the person who requests or approves it."},
	},
}

// UserResourceType is the /Users resource type with the enterprise extension.
var UserResourceType = &ResourceType{Name: "User", Endpoint: "/Users", Schema: User, Extensions: []*Schema{EnterpriseUser}}

// GroupResourceType is the /Groups resource type.
var GroupResourceType = &ResourceType{Name: "Group", Endpoint: "/Groups", Schema: Group}

// RoleResourceType is the /Roles resource type: the endpoint's catalog.
var RoleResourceType = &ResourceType{Name: "Role", Endpoint: "/Roles", Schema: Role}

// All returns every schema the server supports, in the order /Schemas lists them.
func All() []*Schema { return []*Schema{User, EnterpriseUser, Group, Role} }
