package scimserver

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// TestLeanUserEqualsTheFullRendering: for every member of a User's SCIM
// representation, alone or together, the lean view holds exactly what the
// full rendering holds, so a filter or sortBy decides the same on both.
func TestLeanUserEqualsTheFullRendering(t *testing.T) {
	s := newGoldenServer(t)
	ctx := context.Background()
	req := &request{ep: &Endpoint{Key: types.NamespacedName{Namespace: goldenNamespace, Name: goldenEndpoint}},
		baseURL: "https://scim.example.com/scim/v2/" + goldenNamespace + "/" + goldenEndpoint}
	users := []*scimv1.ScimUser{}
	for _, o := range goldenObjects() {
		if u, ok := o.(*scimv1.ScimUser); ok && u.Spec.Endpoint == goldenEndpoint {
			users = append(users, u)
		}
	}
	full := &scimv1.ScimUser{ObjectMeta: users[0].ObjectMeta, Spec: scimv1.ScimUserSpec{Endpoint: goldenEndpoint,
		UserName: "full@example.com", Active: true, ExternalID: "x", Name: &scimv1.Name{}, DisplayName: "d", NickName: "n",
		ProfileURL: "https://p", Title: "t", UserType: "Employee", PreferredLanguage: "en", Locale: "en-US", Timezone: "UTC",
		PhoneNumbers: []scimv1.MultiValuedAttribute{{Value: "+1", Type: "work"}},
		IMs:          []scimv1.MultiValuedAttribute{{Value: "im"}}, Photos: []scimv1.MultiValuedAttribute{{Value: "https://ph"}},
		Addresses:    []scimv1.Address{{Locality: "Paris", Primary: true}},
		Entitlements: []scimv1.MultiValuedAttribute{{Value: "e"}}, Roles: []scimv1.MultiValuedAttribute{{Value: "r", Primary: true}},
		X509Certificates: []scimv1.MultiValuedAttribute{{Value: "MII"}},
		Enterprise:       &scimv1.EnterpriseUser{CostCenter: "42"}}}
	users = append(users, full)
	var keys []string
	for _, a := range schema.UserResourceType.Schema.Attributes {
		keys = append(keys, a.Name)
	}
	keys = append(keys, "id", "externalId", "meta", "groups", "schemas", schema.EnterpriseUserURN)
	for _, u := range users {
		want, err := s.renderUser(ctx, req, u)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			view := map[string]any{}
			if err := s.leanUser(ctx, req, u, []string{strings.ToUpper(k)}, view); err != nil {
				t.Fatal(err)
			}
			got, ok := view[k]
			wantV, wantOK := want[k]
			if ok != wantOK || !cmp.Equal(got, wantV) {
				t.Errorf("%s: %s: lean %v (present %v), full %v (present %v)", u.Name, k, got, ok, wantV, wantOK)
			}
		}
		view := map[string]any{}
		if err := s.leanUser(ctx, req, u, keys, view); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, view); diff != "" {
			t.Errorf("%s: every member at once (-full +lean):\n%s", u.Name, diff)
		}
	}
}
