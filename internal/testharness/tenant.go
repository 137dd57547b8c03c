package testharness

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// ExpectedRows computes, independently of the tenantapp reconciler, the
// tables of a TenantApp of endpoint without scope and with the Disable policy,
// from the API server reads of c: every live user and group of the endpoint
// and their memberships, sorted.
func ExpectedRows(ctx context.Context, c client.Reader, ns, endpoint string) (tenantdb.State, error) {
	var users scimv1.ScimUserList
	var groups scimv1.ScimGroupList
	var shards scimv1.ScimMembershipList
	for _, l := range []client.ObjectList{&users, &groups, &shards} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return tenantdb.State{}, fmt.Errorf("listing %T: %w", l, err)
		}
	}
	st := tenantdb.State{Members: map[string][]string{}}
	ids := map[string]bool{}
	for _, u := range users.Items {
		if u.DeletionTimestamp != nil || u.Spec.Endpoint != endpoint {
			continue
		}
		row := tenantdb.User{ID: u.Name, ExternalID: u.Spec.ExternalID, UserName: u.Spec.UserName,
			DisplayName: u.Spec.DisplayName, Active: u.Spec.Active, Version: u.Generation}
		if u.Spec.Name != nil {
			row.GivenName, row.FamilyName = u.Spec.Name.GivenName, u.Spec.Name.FamilyName
		}
		row.Email = u.Spec.PrimaryEmail()
		st.Users = append(st.Users, row)
		ids[u.Name] = true
	}
	gids := map[string]bool{}
	for _, g := range groups.Items {
		if g.DeletionTimestamp != nil || g.Spec.Endpoint != endpoint {
			continue
		}
		st.Groups = append(st.Groups, tenantdb.Group{ID: g.Name, ExternalID: g.Spec.ExternalID,
			DisplayName: g.Spec.DisplayName, Version: g.Generation})
		gids[g.Name] = true
	}
	for _, sh := range shards.Items {
		for _, m := range sh.Spec.Members {
			if gids[sh.Spec.Group] && ids[m.Value] {
				st.Members[sh.Spec.Group] = append(st.Members[sh.Spec.Group], m.Value)
			}
		}
	}
	for g := range st.Members {
		slices.Sort(st.Members[g])
	}
	slices.SortFunc(st.Users, func(a, b tenantdb.User) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Groups, func(a, b tenantdb.Group) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}

// TerminatingUsers lists the ScimUsers of ns that are being deleted.
func TerminatingUsers(ctx context.Context, c client.Reader, ns string) ([]string, error) {
	var users scimv1.ScimUserList
	if err := c.List(ctx, &users, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing ScimUsers: %w", err)
	}
	var out []string
	for _, u := range users.Items {
		if u.DeletionTimestamp != nil {
			out = append(out, u.Name)
		}
	}
	return out, nil
}
