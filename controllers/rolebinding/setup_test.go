package rolebinding

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// TestGroupChanged: the SCIM server's lastModified stamp alone does not
// bring a group's bindings back; every change a grant depends on does.
func TestGroupChanged(t *testing.T) {
	old := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Generation: 1, ResourceVersion: "1",
		Labels:      map[string]string{scimv1.LabelEndpoint: "okta"},
		Annotations: map[string]string{scimv1.AnnotationLastModified: "2026-12-01T10:00:00.000Z"}},
		Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: "admins"}}
	now := metav1.Now()
	for _, tc := range []struct {
		reason string
		change func(*scimv1.ScimGroup)
		want   bool
	}{
		{"a new lastModified stamp", func(g *scimv1.ScimGroup) {
			g.Annotations[scimv1.AnnotationLastModified] = "2026-12-01T10:00:01.000Z"
		}, false},
		{"a rename (a new generation)", func(g *scimv1.ScimGroup) { g.Spec.DisplayName, g.Generation = "renamed", 2 }, true},
		{"deletion started", func(g *scimv1.ScimGroup) { g.DeletionTimestamp = &now }, true},
		{"a label changed", func(g *scimv1.ScimGroup) { g.Labels[scimv1.LabelEndpoint] = "other" }, true},
	} {
		cur := old.DeepCopy()
		cur.ResourceVersion = "2"
		tc.change(cur)
		if got := groupChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur}); got != tc.want {
			t.Errorf("%s: passes %v, want %v", tc.reason, got, tc.want)
		}
	}
}
