package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NamespacesFrom says which namespaces may reference a ScimEndpoint, as Gateway
// API's allowedRoutes.namespaces.from does for a Gateway's listeners.
// +kubebuilder:validation:Enum=Same;Selector;All
type NamespacesFrom string

const (
	// NamespacesFromSame allows only the endpoint's own namespace (default).
	NamespacesFromSame NamespacesFrom = "Same"
	// NamespacesFromSelector allows the namespaces whose labels match
	// allowedNamespaces.selector, and the endpoint's own namespace.
	NamespacesFromSelector NamespacesFrom = "Selector"
	// NamespacesFromAll allows every namespace.
	NamespacesFromAll NamespacesFrom = "All"
)

// AllowedNamespaces says from which namespaces ScimRoleBindings and TenantApps
// may use an endpoint's users and groups (docs/security.md, "Who may decide
// what"): the endpoint's owner decides, tenants then bind. The endpoint's own
// namespace is always allowed, unlike Gateway API's Selector: its catalog
// (ScimEntitlements) lives there.
// +kubebuilder:validation:XValidation:rule="(self.from == 'Selector') == has(self.selector)",message="selector is set exactly when from is Selector"
type AllowedNamespaces struct {
	// From is Same (only this namespace), Selector (namespaces matching
	// selector) or All.
	// +kubebuilder:default=Same
	// +optional
	From NamespacesFrom `json:"from,omitempty"`

	// Selector matches the labels of the namespaces allowed with from: Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// AllowsNamespace reports whether a ScimRoleBinding or TenantApp in namespace
// ns, whose labels are nsLabels, may use the endpoint. An invalid selector
// allows no other namespace.
func (ep *ScimEndpoint) AllowsNamespace(ns string, nsLabels map[string]string) bool {
	if ns == ep.Namespace {
		return true
	}
	a := ep.Spec.AllowedNamespaces
	switch a.From {
	case NamespacesFromAll:
		return true
	case NamespacesFromSelector:
		if a.Selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(a.Selector)
		return err == nil && !sel.Empty() && sel.Matches(labels.Set(nsLabels))
	}
	return false
}

// String is "<namespace>/<name>", the form the indexes and Events use.
func (r EndpointReference) String() string { return r.Namespace + "/" + r.Name }

// EndpointRef is the ScimEndpoint the binding uses: spec.endpoint in
// spec.endpointNamespace, or in the binding's own namespace.
func (b *ScimRoleBinding) EndpointRef() EndpointReference {
	return endpointRef(b.Namespace, b.Spec.EndpointNamespace, b.Spec.Endpoint)
}

// EndpointRef is the ScimEndpoint the TenantApp projects: spec.endpoint in
// spec.endpointNamespace, or in the TenantApp's own namespace.
func (a *TenantApp) EndpointRef() EndpointReference {
	return endpointRef(a.Namespace, a.Spec.EndpointNamespace, a.Spec.Endpoint)
}

func endpointRef(own, ns, name string) EndpointReference {
	if ns == "" {
		ns = own
	}
	return EndpointReference{Namespace: ns, Name: name}
}
