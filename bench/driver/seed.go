package driver

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// seedWorkers is the concurrency of direct creates; the API server, not the
// driver, is the limit above about this.
const seedWorkers = 32

// seedUserName and seedExternalID name the i-th seeded user, so reads can
// ask for any of them without keeping a table.
func seedUserName(i int) string   { return fmt.Sprintf("seed-%06d@example.com", i) }
func seedExternalID(i int) string { return fmt.Sprintf("00useed%06d", i) }

// storedUser is the ScimUser the SCIM server stores for an Okta create of
// userName (users.go), named as it names it (scimstore.UniqueName): what
// seeding writes directly.
func storedUser(ep Endpoint, userName, externalID string) *scimv1.ScimUser {
	return &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: scimstore.UniqueName("User", ep.Name, userName),
			Labels:      map[string]string{scimv1.LabelEndpoint: ep.Name},
			Annotations: map[string]string{scimv1.AnnotationLastModified: time.Now().UTC().Format(time.RFC3339)}},
		Spec: scimv1.ScimUserSpec{
			Endpoint: ep.Name, UserName: userName, ExternalID: externalID, Active: true,
			Name:        &scimv1.Name{GivenName: "Ada", FamilyName: "Lovelace"},
			DisplayName: "Ada Lovelace", Locale: "en-US",
			Emails: []scimv1.MultiValuedAttribute{{Value: userName, Type: "work", Primary: true}},
		},
	}
}

// seedUsers creates users from..to-1 of the endpoint directly through the
// API server and appends their ids, in order, to ids. Seeding 100,000 users
// through SCIM would take most of the time budget; an operator started
// afterwards loads them in its first LIST, as after a restart.
func seedUsers(ctx context.Context, c client.Client, ep Endpoint, ids []string, from, to int) ([]string, error) {
	ids = append(ids, make([]string, to-from)...)
	err := forEach(ctx, to-from, seedWorkers, func(ctx context.Context, k int) error {
		i := from + k
		u := storedUser(ep, seedUserName(i), seedExternalID(i))
		if err := c.Create(ctx, u); err != nil {
			return fmt.Errorf("seeding user %d: %w", i, err)
		}
		ids[i] = u.Name
		return nil
	})
	return ids, err
}
