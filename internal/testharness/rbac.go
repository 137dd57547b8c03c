package testharness

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/controllers/rolebinding"
)

// BoundSubjects returns the sorted subject names of every RoleBinding the
// binding (or entitlement) of uid owns in ns (every namespace when ns is
// ""), read through c.
func BoundSubjects(t testing.TB, c client.Client, uid, ns string) []string {
	t.Helper()
	var list rbacv1.RoleBindingList
	opts := []client.ListOption{client.MatchingLabels{rolebinding.LabelBindingUID: uid}}
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(context.Background(), &list, opts...); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, rb := range list.Items {
		for _, s := range rb.Subjects {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names
}

// WantBoundSubjects waits up to timeout until BoundSubjects is exactly want.
func WantBoundSubjects(t testing.TB, c client.Client, timeout time.Duration, uid, ns string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if want == nil {
		want = []string{}
	}
	Eventually(t, timeout, func() string {
		got := BoundSubjects(t, c, uid, ns)
		return Unless(fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("subjects become %v", want), fmt.Sprint(got))
	})
}
