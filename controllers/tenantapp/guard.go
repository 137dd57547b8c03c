package tenantapp

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// revocations counts the users a pass would revoke: rows active in have
// (what the tables hold) that want makes inactive or removes, whatever the
// cause — a deactivation, a deletion, leaving the scope, a scope group deleted.
func revocations(have, want *rows) int {
	if have == nil {
		return 0
	}
	n := 0
	for id, row := range have.users {
		if w, ok := want.users[id]; row.Active && (!ok || !w.Active) {
			n++
		}
	}
	return n
}

// admitRevocations asks the deprovisioning guard before a pass revokes
// anything. When the guard holds, want keeps every active row of have, and
// those users' memberships, so nothing is revoked; new users, reactivations
// and changes of active users still flow.
func (r *Reconciler) admitRevocations(ctx context.Context, app *scimv1.TenantApp, have *rows, want *rows) error {
	n := revocations(have, want)
	if n == 0 || r.Guard == nil {
		return nil
	}
	ref := app.EndpointRef()
	ep := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	ok, err := r.Guard.Admit(ctx, ep, projectionName(app), n)
	if err != nil {
		return fmt.Errorf("asking the deprovisioning guard of ScimEndpoint %s: %w", ep, err)
	}
	if !ok {
		keepActiveRows(want, have)
	}
	return nil
}

// projectionName names a TenantApp in the guard's ledger.
func projectionName(app *scimv1.TenantApp) string {
	return "TenantApp/" + app.Namespace + "/" + app.Name
}

// keepActiveRows makes want keep every active row of have, with the
// memberships have gives it in groups want still has.
func keepActiveRows(want *rows, have *rows) {
	kept := map[string]bool{}
	for id, row := range have.users {
		if w, ok := want.users[id]; row.Active && (!ok || !w.Active) {
			want.users[id] = row
			kept[id] = true
		}
	}
	for g, ids := range have.members {
		if _, ok := want.groups[g]; !ok {
			continue
		}
		added := false
		for _, id := range ids {
			if kept[id] {
				want.members[g] = append(want.members[g], id)
				added = true
			}
		}
		if added {
			slices.Sort(want.members[g])
			want.members[g] = slices.Compact(want.members[g])
		}
	}
}

// observedRows converts what the database holds into rows, for a pass that
// has no view to count revocations against.
func observedRows(st tenantdb.State) *rows {
	out := &rows{users: make(map[string]tenantdb.User, len(st.Users)), members: st.Members}
	for _, u := range st.Users {
		out.users[u.ID] = u
	}
	return out
}
