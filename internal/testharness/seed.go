package testharness

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Seeding writes the identity CRs straight through the API, shaped as
// internal/scimstore writes them (labels, stamps, member shards), for suites
// that run one reconciler without the SCIM server. The SCIM write path has
// its own tests; these helpers do not replace it.

// SeedNamespace creates a namespace named for the test (Namespace) and
// returns its name.
func SeedNamespace(t testing.TB, c client.Client) string {
	t.Helper()
	ns := Namespace(t)
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	return ns
}

// SeedEndpoint creates ScimEndpoint ns/name. Its token Secret need not
// exist: only the SCIM server and the endpoint reconciler read it.
func SeedEndpoint(t testing.TB, c client.Client, ns, name string, mutate ...func(*scimv1.ScimEndpoint)) *scimv1.ScimEndpoint {
	t.Helper()
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: name + "-token", Key: "token"}}}}
	for _, m := range mutate {
		m(ep)
	}
	if err := c.Create(context.Background(), ep); err != nil {
		t.Fatalf("creating ScimEndpoint %s/%s: %v", ns, name, err)
	}
	return ep
}

// SeedUser creates ScimUser ns/id of endpoint with this userName, its
// primary email, active or not.
func SeedUser(t testing.TB, c client.Client, ns, endpoint, id, userName string, active bool, mutate ...func(*scimv1.ScimUser)) *scimv1.ScimUser {
	t.Helper()
	now := scimv1.Stamp()
	u := &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: id, Labels: map[string]string{scimv1.LabelEndpoint: endpoint},
			Annotations: map[string]string{scimv1.AnnotationLastModified: now}},
		Spec: scimv1.ScimUserSpec{Endpoint: endpoint, UserName: userName, Active: active,
			Emails: []scimv1.MultiValuedAttribute{{Value: userName, Primary: true, Type: "work"}}},
	}
	if !active {
		u.Annotations[scimv1.AnnotationDeactivatedAt] = now
	}
	for _, m := range mutate {
		m(u)
	}
	if err := c.Create(context.Background(), u); err != nil {
		t.Fatalf("creating ScimUser %s/%s: %v", ns, id, err)
	}
	return u
}

// EditUser changes ScimUser key with change and stamps it as the SCIM
// server's update does: last-modified, and deactivated-at or activated-at
// when change flipped spec.active.
func EditUser(t testing.TB, c client.Client, key client.ObjectKey, change func(*scimv1.ScimUser)) {
	t.Helper()
	ctx := context.Background()
	var u scimv1.ScimUser
	if err := c.Get(ctx, key, &u); err != nil {
		t.Fatalf("getting ScimUser %s: %v", key, err)
	}
	was := u.Spec.Active
	change(&u)
	if u.Annotations == nil {
		u.Annotations = map[string]string{}
	}
	now := scimv1.Stamp()
	u.Annotations[scimv1.AnnotationLastModified] = now
	switch {
	case was && !u.Spec.Active:
		u.Annotations[scimv1.AnnotationDeactivatedAt] = now
	case !was && u.Spec.Active:
		delete(u.Annotations, scimv1.AnnotationDeactivatedAt)
		u.Annotations[scimv1.AnnotationActivatedAt] = now
	}
	if err := c.Update(ctx, &u); err != nil {
		t.Fatalf("updating ScimUser %s: %v", key, err)
	}
}

// SeedGroup creates ScimGroup ns/id of endpoint named displayName, and the
// member shards holding the user ids members.
func SeedGroup(t testing.TB, c client.Client, ns, endpoint, id, displayName string, members ...string) *scimv1.ScimGroup {
	t.Helper()
	g := &scimv1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: id, Labels: map[string]string{scimv1.LabelEndpoint: endpoint},
			Annotations: map[string]string{scimv1.AnnotationLastModified: scimv1.Stamp()}},
		Spec: scimv1.ScimGroupSpec{Endpoint: endpoint, DisplayName: displayName},
	}
	if err := c.Create(context.Background(), g); err != nil {
		t.Fatalf("creating ScimGroup %s/%s: %v", ns, id, err)
	}
	SetMembers(t, c, g, members...)
	return g
}

// SetMembers makes the shards of group g hold exactly the user ids members,
// laid out as the SCIM store lays out a group built in one go
// (scimstore.LayoutShards): shards are created, rewritten or deleted.
func SetMembers(t testing.TB, c client.Client, g *scimv1.ScimGroup, members ...string) {
	t.Helper()
	ctx := context.Background()
	ms := make([]scimv1.Member, len(members))
	for i, id := range members {
		ms[i] = scimv1.Member{Value: id, Type: "User"}
	}
	want := map[string]*scimv1.ScimMembership{}
	if len(members) > 0 {
		for _, sh := range scimstore.LayoutShards(g.Name, ms) {
			want[sh.Name] = sh
		}
	}
	var have scimv1.ScimMembershipList
	if err := c.List(ctx, &have, client.InNamespace(g.Namespace), client.MatchingLabels{scimv1.LabelGroup: g.Name}); err != nil {
		t.Fatal(err)
	}
	for i := range have.Items {
		sh := &have.Items[i]
		if _, ok := want[sh.Name]; ok {
			continue
		}
		if err := c.Delete(ctx, sh); client.IgnoreNotFound(err) != nil {
			t.Fatalf("deleting ScimMembership %s: %v", sh.Name, err)
		}
	}
	for name, w := range want {
		sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: g.Namespace, Name: name}}
		err := c.Get(ctx, client.ObjectKeyFromObject(sh), sh)
		switch {
		case apierrors.IsNotFound(err):
			sh.Labels = map[string]string{scimv1.LabelEndpoint: g.Spec.Endpoint, scimv1.LabelGroup: g.Name}
			sh.OwnerReferences = []metav1.OwnerReference{{APIVersion: scimv1.GroupVersion.String(), Kind: "ScimGroup", Name: g.Name, UID: g.UID}}
			sh.Spec = w.Spec
			err = c.Create(ctx, sh)
		case err == nil:
			sh.Spec = w.Spec
			err = c.Update(ctx, sh)
		}
		if err != nil {
			t.Fatalf("writing ScimMembership %s: %v", sh.Name, err)
		}
	}
}
