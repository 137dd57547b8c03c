package rolebinding

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Where a binding's grants apply: the existing namespaces of each target.

// place finds, for each grant of the binding, the existing namespaces it
// grants in (none for a cluster-wide grant).
func (r *Reconciler) place(ctx context.Context, b binding) ([]placement, error) {
	grants := b.grants()
	out := make([]placement, len(grants))
	for i, g := range grants {
		out[i] = placement{grant: g, in: map[string]bool{}}
		if g.target.ClusterWide {
			continue
		}
		nss, err := TargetNamespaces(ctx, r.Client, g.target)
		if err != nil {
			return nil, err
		}
		for _, ns := range nss {
			out[i].in[ns] = true
		}
	}
	return out, nil
}

// grantedNamespaces is the sorted union of the grants' namespaces.
func grantedNamespaces(places []placement) []string {
	all := map[string]bool{}
	for _, p := range places {
		for ns := range p.in {
			all[ns] = true
		}
	}
	if len(all) == 0 {
		return nil
	}
	return sortedKeys(all)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TargetNamespaces lists the existing namespaces of a target that is not
// cluster-wide: where the reconciler places a grant, and where `kubectl
// scim` expects it.
func TargetNamespaces(ctx context.Context, c client.Reader, t scimv1.BindingTarget) ([]string, error) {
	var out []string
	if t.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			return nil, nil // an invalid selector selects nothing; CRD validation reports it
		}
		var nss corev1.NamespaceList
		if err := c.List(ctx, &nss, client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, fmt.Errorf("listing namespaces: %w", err)
		}
		for _, ns := range nss.Items {
			if ns.DeletionTimestamp.IsZero() {
				out = append(out, ns.Name)
			}
		}
		return out, nil
	}
	for _, name := range t.Namespaces {
		var ns corev1.Namespace
		err := c.Get(ctx, client.ObjectKey{Name: name}, &ns)
		if err == nil && ns.DeletionTimestamp.IsZero() {
			out = append(out, name)
		} else if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("getting namespace %s: %w", name, err)
		}
	}
	return out, nil
}
