package deprovision

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/kube"
)

// TestAdmitRetriesTheWholeRequest: a conflict on the status write makes the
// guard decide again on a fresh read, for all n revocations. An approval
// credit consumed by a lost write must still be there to consume.
func TestAdmitRetriesTheWholeRequest(t *testing.T) {
	ctx := context.Background()
	key := types.NamespacedName{Namespace: "ns", Name: "okta"}
	now := time.Now()
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Spec: scimv1.ScimEndpointSpec{DeprovisioningGuard: scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 4,
			Window: metav1.Duration{Duration: time.Hour}}},
		Status: scimv1.ScimEndpointStatus{Deprovisioning: scimv1.DeprovisioningStatus{Allowed: 4,
			WindowStart: &metav1.MicroTime{Time: now}, ApprovedAt: &metav1.MicroTime{Time: now},
			Projections: []scimv1.ProjectionRevocations{{Name: "app", Pending: 5, Approved: 5}}}}}
	conflicts := 1
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(ep).WithStatusSubresource(ep).
		WithInterceptorFuncs(interceptor.Funcs{SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if conflicts > 0 {
				conflicts--
				return apierrors.NewConflict(schema.GroupResource{Resource: "scimendpoints"}, obj.GetName(), nil)
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		}}).Build()
	g := &Guard{Client: c, APIReader: c, Now: func() time.Time { return now },
		Users: func(context.Context, types.NamespacedName) ([]*scimv1.ScimUser, error) { return nil, nil }}

	for _, step := range []struct {
		n    int
		want bool
	}{{5, true}, {4, true}, {1, false}} {
		ok, err := g.Admit(ctx, key, "app", step.n)
		if err != nil {
			t.Fatal(err)
		}
		if ok != step.want {
			t.Errorf("Admit(%d) = %v, want %v", step.n, ok, step.want)
		}
	}
	var got scimv1.ScimEndpoint
	if err := c.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if p := got.Status.Deprovisioning.Projections[0]; p.Approved != 0 || p.Revoked != 4 || p.Pending != 1 {
		t.Errorf("ledger %+v, want the approval consumed, 4 revoked and 1 pending", p)
	}
}
