package operator

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Components selects what one process runs, so that the SCIM-facing server
// and the reconcilers can run as two Deployments under two ServiceAccounts,
// each holding only the permissions its part needs.
type Components string

const (
	// ComponentsAll runs the SCIM server and the reconcilers in one process
	// (the default: local mode, benchmarks and tests).
	ComponentsAll Components = "all"
	// ComponentsSCIM runs only the SCIM server and its token loader, on
	// every replica, without leader election.
	ComponentsSCIM Components = "scim"
	// ComponentsControllers runs only the reconcilers, on the elected leader.
	ComponentsControllers Components = "controllers"
)

// ParseComponents parses the --components flag.
func ParseComponents(s string) (Components, error) {
	switch c := Components(s); c {
	case ComponentsAll, ComponentsSCIM, ComponentsControllers:
		return c, nil
	case "":
		return ComponentsAll, nil
	}
	return "", fmt.Errorf("unknown components %q: want scim, controllers or all", s)
}

// SCIM reports whether the SCIM server runs; the zero value runs everything.
func (c Components) SCIM() bool { return c != ComponentsControllers }

// Controllers reports whether the reconcilers run; the zero value runs everything.
func (c Components) Controllers() bool { return c != ComponentsSCIM }

// cacheByObject limits what the informer cache holds: only the RoleBindings
// and ClusterRoleBindings the operator owns, so a large cluster's RBAC objects
// are not held in memory; and, when secretNamespaces is set, only the Secrets
// of those namespaces, so the operator needs no cluster-wide right on Secrets.
func cacheByObject(secretNamespaces []string) map[client.Object]cache.ByObject {
	owned := cache.ByObject{
		Label: labels.SelectorFromSet(labels.Set{scimv1.LabelManagedBy: scimv1.ManagedByValue}),
		// The RBAC projection reads the managed fields of its children to
		// tell its own writes from hand edits: they keep them.
		Transform: func(o any) (any, error) { return o, nil },
	}
	byObject := map[client.Object]cache.ByObject{&rbacv1.RoleBinding{}: owned, &rbacv1.ClusterRoleBinding{}: owned}
	if len(secretNamespaces) > 0 {
		namespaces := map[string]cache.Config{}
		for _, ns := range secretNamespaces {
			namespaces[ns] = cache.Config{}
		}
		byObject[&corev1.Secret{}] = cache.ByObject{Namespaces: namespaces}
	}
	return byObject
}
