package scimserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A filtered or sorted listing decides on the stored ScimUsers and
// ScimGroups themselves (filter.Typed): the bindings below say where each
// attribute of the SCIM representation is in the typed object, as
// userToSCIM and groupToSCIM render it (omitempty fields are absent when
// empty, active and a group's displayName are always there). A user's
// groups, a group's members and meta.location and meta.version have no
// binding: a filter node or sortBy naming them reads a lean view.

// userBinder binds the attributes of a User.
var userBinder = binder(map[*schema.Attribute]filter.Binding[*scimv1.ScimUser]{
	schema.CommonAttr("id"):                      always(func(u *scimv1.ScimUser) string { return u.Name }),
	schema.CommonAttr("externalId"):              optional(func(u *scimv1.ScimUser) string { return u.Spec.ExternalID }),
	schema.CommonAttr("meta"):                    metaBinding("User", func(u *scimv1.ScimUser) *metav1.ObjectMeta { return &u.ObjectMeta }),
	schema.User.Attr("userName"):                 always(func(u *scimv1.ScimUser) string { return u.Spec.UserName }),
	schema.User.Attr("name"):                     nameBinding(),
	schema.User.Attr("displayName"):              optional(func(u *scimv1.ScimUser) string { return u.Spec.DisplayName }),
	schema.User.Attr("nickName"):                 optional(func(u *scimv1.ScimUser) string { return u.Spec.NickName }),
	schema.User.Attr("profileUrl"):               optional(func(u *scimv1.ScimUser) string { return u.Spec.ProfileURL }),
	schema.User.Attr("title"):                    optional(func(u *scimv1.ScimUser) string { return u.Spec.Title }),
	schema.User.Attr("userType"):                 optional(func(u *scimv1.ScimUser) string { return u.Spec.UserType }),
	schema.User.Attr("preferredLanguage"):        optional(func(u *scimv1.ScimUser) string { return u.Spec.PreferredLanguage }),
	schema.User.Attr("locale"):                   optional(func(u *scimv1.ScimUser) string { return u.Spec.Locale }),
	schema.User.Attr("timezone"):                 optional(func(u *scimv1.ScimUser) string { return u.Spec.Timezone }),
	schema.User.Attr("active"):                   activeBinding(),
	schema.User.Attr("password"):                 optional(func(*scimv1.ScimUser) string { return "" }), // never stored
	schema.User.Attr("emails"):                   multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.Emails }),
	schema.User.Attr("phoneNumbers"):             multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.PhoneNumbers }),
	schema.User.Attr("ims"):                      multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.IMs }),
	schema.User.Attr("photos"):                   multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.Photos }),
	schema.User.Attr("addresses"):                addressBinding(),
	schema.User.Attr("entitlements"):             multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.Entitlements }),
	schema.User.Attr("roles"):                    multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.Roles }),
	schema.User.Attr("x509Certificates"):         multiBinding(func(u *scimv1.ScimUser) []scimv1.MultiValuedAttribute { return u.Spec.X509Certificates }),
	schema.EnterpriseUser.Attr("employeeNumber"): enterprise(func(e *scimv1.EnterpriseUser) string { return e.EmployeeNumber }),
	schema.EnterpriseUser.Attr("costCenter"):     enterprise(func(e *scimv1.EnterpriseUser) string { return e.CostCenter }),
	schema.EnterpriseUser.Attr("organization"):   enterprise(func(e *scimv1.EnterpriseUser) string { return e.Organization }),
	schema.EnterpriseUser.Attr("division"):       enterprise(func(e *scimv1.EnterpriseUser) string { return e.Division }),
	schema.EnterpriseUser.Attr("department"):     enterprise(func(e *scimv1.EnterpriseUser) string { return e.Department }),
	schema.EnterpriseUser.Attr("manager"):        managerBinding(),
})

// groupBinder binds the attributes of a Group.
var groupBinder = binder(map[*schema.Attribute]filter.Binding[*scimv1.ScimGroup]{
	schema.CommonAttr("id"):          always(func(g *scimv1.ScimGroup) string { return g.Name }),
	schema.CommonAttr("externalId"):  optional(func(g *scimv1.ScimGroup) string { return g.Spec.ExternalID }),
	schema.CommonAttr("meta"):        metaBinding("Group", func(g *scimv1.ScimGroup) *metav1.ObjectMeta { return &g.ObjectMeta }),
	schema.Group.Attr("displayName"): always(func(g *scimv1.ScimGroup) string { return g.Spec.DisplayName }),
})

func binder[T any](bindings map[*schema.Attribute]filter.Binding[T]) filter.Binder[T] {
	return func(attr *schema.Attribute) (filter.Binding[T], bool) {
		b, ok := bindings[attr]
		return b, ok
	}
}

// value is how a binding reads one value or sub-attribute.
type value[T any] func(res T, i int) (filter.Scalar, bool)

// str reads a string a rendering always holds; optionalStr one it omits
// when empty.
func str[T any](get func(T) string) value[T] {
	return func(res T, _ int) (filter.Scalar, bool) { return filter.StringValue(get(res)), true }
}

func optionalStr[T any](get func(T) string) value[T] {
	return func(res T, _ int) (filter.Scalar, bool) {
		s := get(res)
		return filter.StringValue(s), s != ""
	}
}

func one[T any](T) int { return 1 }

// always binds a singular string attribute rendered even when empty.
func always[T any](get func(T) string) filter.Binding[T] {
	return filter.Binding[T]{Len: one[T], Value: str(get)}
}

// optional binds a singular string attribute omitted when empty.
func optional[T any](get func(T) string) filter.Binding[T] {
	return filter.Binding[T]{Len: one[T], Value: optionalStr(get)}
}

func activeBinding() filter.Binding[*scimv1.ScimUser] {
	return filter.Binding[*scimv1.ScimUser]{Len: one[*scimv1.ScimUser],
		Value: func(u *scimv1.ScimUser, _ int) (filter.Scalar, bool) { return filter.BoolValue(u.Spec.Active), true }}
}

// subs builds a Binding's Sub from readers by sub-attribute name.
func subs[T any](readers map[string]value[T]) func(*schema.Attribute) func(T, int) (filter.Scalar, bool) {
	return func(sub *schema.Attribute) func(T, int) (filter.Scalar, bool) {
		return readers[sub.Name]
	}
}

// metaBinding binds meta as meta renders it: lastModified is the
// AnnotationLastModified stamp, or the creation time.
func metaBinding[T any](resourceType string, om func(T) *metav1.ObjectMeta) filter.Binding[T] {
	created := func(res T, _ int) (filter.Scalar, bool) {
		return filter.InstantValue(om(res).CreationTimestamp.Time), true
	}
	return filter.Binding[T]{Len: one[T], Sub: subs(map[string]value[T]{
		"resourceType": str(func(T) string { return resourceType }),
		"created":      created,
		"lastModified": func(res T, i int) (filter.Scalar, bool) {
			if lm := om(res).Annotations[AnnotationLastModified]; lm != "" {
				return filter.StringValue(lm), true
			}
			return created(res, i)
		},
	})}
}

func nameBinding() filter.Binding[*scimv1.ScimUser] {
	name := func(get func(*scimv1.Name) string) value[*scimv1.ScimUser] {
		return optionalStr(func(u *scimv1.ScimUser) string { return get(u.Spec.Name) })
	}
	return filter.Binding[*scimv1.ScimUser]{
		Len: func(u *scimv1.ScimUser) int { return count(u.Spec.Name != nil) },
		Sub: subs(map[string]value[*scimv1.ScimUser]{
			"formatted":       name(func(n *scimv1.Name) string { return n.Formatted }),
			"familyName":      name(func(n *scimv1.Name) string { return n.FamilyName }),
			"givenName":       name(func(n *scimv1.Name) string { return n.GivenName }),
			"middleName":      name(func(n *scimv1.Name) string { return n.MiddleName }),
			"honorificPrefix": name(func(n *scimv1.Name) string { return n.HonorificPrefix }),
			"honorificSuffix": name(func(n *scimv1.Name) string { return n.HonorificSuffix }),
		}),
	}
}

// elements binds a multi-valued complex attribute held in a list of E.
func elements[T, E any](list func(T) []E, readers map[string]func(*E) (filter.Scalar, bool)) filter.Binding[T] {
	bound := map[string]value[T]{}
	for name, get := range readers {
		bound[name] = func(res T, i int) (filter.Scalar, bool) { return get(&list(res)[i]) }
	}
	return filter.Binding[T]{Len: func(res T) int { return len(list(res)) }, Sub: subs(bound)}
}

// elemStr reads an element's string sub-attribute, omitted when empty;
// elemPrimary its primary, omitted when false.
func elemStr[E any](get func(*E) string) func(*E) (filter.Scalar, bool) {
	return func(e *E) (filter.Scalar, bool) {
		s := get(e)
		return filter.StringValue(s), s != ""
	}
}

func elemPrimary[E any](get func(*E) bool) func(*E) (filter.Scalar, bool) {
	return func(e *E) (filter.Scalar, bool) { return filter.BoolValue(true), get(e) }
}

func multiBinding(list func(*scimv1.ScimUser) []scimv1.MultiValuedAttribute) filter.Binding[*scimv1.ScimUser] {
	type mva = scimv1.MultiValuedAttribute
	return elements(list, map[string]func(*mva) (filter.Scalar, bool){
		"value":   elemStr(func(a *mva) string { return a.Value }),
		"display": elemStr(func(a *mva) string { return a.Display }),
		"type":    elemStr(func(a *mva) string { return a.Type }),
		"primary": elemPrimary(func(a *mva) bool { return a.Primary }),
	})
}

func addressBinding() filter.Binding[*scimv1.ScimUser] {
	type addr = scimv1.Address
	return elements(func(u *scimv1.ScimUser) []addr { return u.Spec.Addresses }, map[string]func(*addr) (filter.Scalar, bool){
		"formatted":     elemStr(func(a *addr) string { return a.Formatted }),
		"streetAddress": elemStr(func(a *addr) string { return a.StreetAddress }),
		"locality":      elemStr(func(a *addr) string { return a.Locality }),
		"region":        elemStr(func(a *addr) string { return a.Region }),
		"postalCode":    elemStr(func(a *addr) string { return a.PostalCode }),
		"country":       elemStr(func(a *addr) string { return a.Country }),
		"type":          elemStr(func(a *addr) string { return a.Type }),
		"primary":       elemPrimary(func(a *addr) bool { return a.Primary }),
	})
}

// enterprise binds a string attribute of the enterprise extension, absent
// with the extension.
func enterprise(get func(*scimv1.EnterpriseUser) string) filter.Binding[*scimv1.ScimUser] {
	return optional(func(u *scimv1.ScimUser) string {
		if u.Spec.Enterprise == nil {
			return ""
		}
		return get(u.Spec.Enterprise)
	})
}

func managerBinding() filter.Binding[*scimv1.ScimUser] {
	manager := func(u *scimv1.ScimUser) *scimv1.Manager {
		if u.Spec.Enterprise == nil {
			return nil
		}
		return u.Spec.Enterprise.Manager
	}
	sub := func(get func(*scimv1.Manager) string) value[*scimv1.ScimUser] {
		return optionalStr(func(u *scimv1.ScimUser) string { return get(manager(u)) })
	}
	return filter.Binding[*scimv1.ScimUser]{
		Len: func(u *scimv1.ScimUser) int { return count(manager(u) != nil) },
		Sub: subs(map[string]value[*scimv1.ScimUser]{
			"value":       sub(func(m *scimv1.Manager) string { return m.Value }),
			"$ref":        sub(func(m *scimv1.Manager) string { return m.Ref }),
			"displayName": sub(func(m *scimv1.Manager) string { return m.DisplayName }),
		}),
	}
}

func count(present bool) int {
	if present {
		return 1
	}
	return 0
}
