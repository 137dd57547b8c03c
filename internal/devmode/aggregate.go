package devmode

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AggregateClusterRoles fills the rules of every aggregated ClusterRole (view,
// edit, admin) from the ClusterRoles its aggregationRule selects. In a cluster
// kube-controller-manager's clusterrole-aggregation controller does this;
// envtest runs no controller manager, so without it `view` grants nothing and
// the demo binding could not let anyone read ConfigMaps. Aggregated roles
// select each other (admin takes edit's rules, edit takes view's), so it
// repeats until nothing changes. Once at start is enough for the local mode:
// its roles are the API server's bootstrap roles; tests that add aggregated
// roles call it again.
func AggregateClusterRoles(ctx context.Context, c client.Client) error {
	// Each round completes at least one more level of the aggregation
	// chains; the built-in chain is three deep (view, edit, admin).
	for round := 0; round < 8; round++ {
		changed, err := aggregateOnce(ctx, c)
		if err != nil || !changed {
			return err
		}
	}
	return nil
}

// aggregateOnce sets each aggregated role's rules from the others' current
// rules and reports whether any role changed.
func aggregateOnce(ctx context.Context, c client.Client) (bool, error) {
	var roles rbacv1.ClusterRoleList
	if err := c.List(ctx, &roles); err != nil {
		return false, fmt.Errorf("listing ClusterRoles: %w", err)
	}
	changed := false
	for i := range roles.Items {
		role := &roles.Items[i]
		if role.AggregationRule == nil {
			continue
		}
		rules, err := aggregatedRules(role, roles.Items)
		if err != nil {
			return false, err
		}
		if equality.Semantic.DeepEqual(rules, role.Rules) {
			continue
		}
		patch := client.MergeFrom(role.DeepCopy())
		role.Rules = rules
		if err := c.Patch(ctx, role, patch); err != nil {
			return false, fmt.Errorf("aggregating ClusterRole %s: %w", role.Name, err)
		}
		changed = true
	}
	return changed, nil
}

// aggregatedRules is the union of the rules of the roles that role's
// aggregationRule selects, in order, without duplicates.
func aggregatedRules(role *rbacv1.ClusterRole, all []rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	seen := map[string]bool{}
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			return nil, fmt.Errorf("ClusterRole %s: %w", role.Name, err)
		}
		for _, other := range all {
			if other.Name == role.Name || !selector.Matches(labels.Set(other.Labels)) {
				continue
			}
			for _, rule := range other.Rules {
				if key := rule.String(); !seen[key] {
					seen[key] = true
					rules = append(rules, rule)
				}
			}
		}
	}
	return rules, nil
}
