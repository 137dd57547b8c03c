package scimserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// AnnotationLastModified records when the SCIM server last wrote a resource,
// rendered as meta.lastModified.
const AnnotationLastModified = scimv1.AnnotationLastModified

// memberRef is a rendered group member or user group.
type memberRef struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref,omitempty"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
}

// userToSCIM renders a ScimUser as a SCIM User resource.
func userToSCIM(u *scimv1.ScimUser, groups []memberRef, baseURL string) map[string]any {
	spec := u.Spec
	spec.Endpoint = ""
	ent := spec.Enterprise
	spec.Enterprise = nil
	res := toMap(spec)
	delete(res, "endpoint")
	schemas := []string{schema.UserURN}
	if ent != nil {
		if m := toMap(ent); len(m) > 0 {
			res[schema.EnterpriseUserURN] = m
			schemas = append(schemas, schema.EnterpriseUserURN)
		}
	}
	res["schemas"] = schemas
	res["id"] = u.Name
	res["active"] = spec.Active
	if groups == nil {
		groups = []memberRef{}
	}
	res["groups"] = toSlice(groups)
	res["meta"] = meta("User", &u.ObjectMeta, baseURL+"/Users/"+u.Name)
	return res
}

// groupToSCIM renders a ScimGroup; members is nil when they were not asked for.
func groupToSCIM(g *scimv1.ScimGroup, members []memberRef, baseURL string) map[string]any {
	res := map[string]any{
		"schemas":     []string{schema.GroupURN},
		"id":          g.Name,
		"displayName": g.Spec.DisplayName,
		"meta":        meta("Group", &g.ObjectMeta, baseURL+"/Groups/"+g.Name),
	}
	if g.Spec.ExternalID != "" {
		res["externalId"] = g.Spec.ExternalID
	}
	if members != nil {
		res["members"] = toSlice(members)
	}
	return res
}

func meta(resourceType string, om *metav1.ObjectMeta, location string) map[string]any {
	created := om.CreationTimestamp.UTC().Format(time.RFC3339)
	modified := created
	if lm := om.Annotations[AnnotationLastModified]; lm != "" {
		modified = lm
	}
	return map[string]any{
		"resourceType": resourceType,
		"created":      created,
		"lastModified": modified,
		"location":     location,
		"version":      etag(om.ResourceVersion),
	}
}

// etag is the weak entity tag of a resource version.
func etag(resourceVersion string) string { return `W/"` + resourceVersion + `"` }

// userFromSCIM maps a normalized SCIM User onto a ScimUserSpec. Read-only
// attributes (id, meta, groups) and password are ignored, never assigned.
// An absent active takes activeIfAbsent: true on create, the user's current
// value on PUT and PATCH, so deactivation fails closed — only an explicit
// active:true re-activates a user.
func userFromSCIM(res map[string]any, activeIfAbsent bool) (scimv1.ScimUserSpec, *Error) {
	in := map[string]any{}
	for k, v := range res {
		switch k {
		case "id", "meta", "groups", "password", "schemas":
		case schema.EnterpriseUserURN:
			in["enterprise"] = v
		default:
			in[k] = v
		}
	}
	if v, ok := in["active"]; !ok || v == nil {
		in["active"] = activeIfAbsent
	}
	var spec scimv1.ScimUserSpec
	if err := fromMap(in, &spec); err != nil {
		return spec, errorf(http.StatusBadRequest, scimInvalidValue, "attribute values have the wrong type")
	}
	if strings.TrimSpace(spec.UserName) == "" {
		return spec, errorf(http.StatusBadRequest, scimInvalidValue, "userName is required")
	}
	if spec.Enterprise != nil && *spec.Enterprise == (scimv1.EnterpriseUser{}) {
		spec.Enterprise = nil
	}
	return spec, nil
}

// groupFromSCIM maps a normalized SCIM Group onto a ScimGroupSpec and the
// member ids it lists. members is nil when the attribute was absent.
func groupFromSCIM(res map[string]any) (scimv1.ScimGroupSpec, []string, *Error) {
	var spec scimv1.ScimGroupSpec
	spec.DisplayName, _ = res["displayName"].(string)
	spec.ExternalID, _ = res["externalId"].(string)
	if strings.TrimSpace(spec.DisplayName) == "" {
		return spec, nil, errorf(http.StatusBadRequest, scimInvalidValue, "displayName is required")
	}
	list, present := res["members"].([]any)
	if !present {
		return spec, nil, nil
	}
	ids := make([]string, 0, len(list))
	for _, el := range list {
		m, _ := el.(map[string]any)
		id, _ := m["value"].(string)
		if id == "" {
			return spec, nil, errorf(http.StatusBadRequest, scimInvalidValue, "every member needs a value")
		}
		ids = append(ids, id)
	}
	return spec, ids, nil
}

func toMap(v any) map[string]any {
	data, _ := json.Marshal(v)
	m := map[string]any{}
	_ = json.Unmarshal(data, &m)
	return m
}

func toSlice(v any) []any {
	data, _ := json.Marshal(v)
	var s []any
	_ = json.Unmarshal(data, &s)
	return s
}

func fromMap(m map[string]any, out any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
