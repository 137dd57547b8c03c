package access

import (
	"context"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// GroupReport answers "what does this group grant".
type GroupReport struct {
	Group GroupRef `json:"group"`
	// Members counts the direct member users; ActiveMembers those active.
	Members       int `json:"members"`
	ActiveMembers int `json:"activeMembers"`
	// Grants are the bindings that follow the group, one per role and place.
	Grants []GroupGrant `json:"grants"`
	// RoleBindings are the RoleBindings and ClusterRoleBindings generated
	// for those bindings.
	RoleBindings []Generated `json:"roleBindings"`
	// TenantApps are the TenantApps whose scope holds the group's members.
	TenantApps []TenantScope `json:"tenantApps"`
}

// GroupGrant is what one binding of the group grants, where, and how far
// the RoleBindings are from what they should be.
type GroupGrant struct {
	Binding     ObjectRef      `json:"binding"`
	Role        scimv1.RoleRef `json:"role"`
	SubjectKind string         `json:"subjectKind"`
	// Namespaces the role is granted in; empty when ClusterWide.
	Namespaces  []string `json:"namespaces"`
	ClusterWide bool     `json:"clusterWide,omitempty"`
	Ready       string   `json:"ready"`
	// Granted, Pending and Revoking count the subjects in each state.
	Granted  int `json:"granted"`
	Pending  int `json:"pending"`
	Revoking int `json:"revoking"`
}

// Generated is one RoleBinding or ClusterRoleBinding the operator wrote.
type Generated struct {
	ObjectRef
	Role     scimv1.RoleRef `json:"role"`
	Subjects int            `json:"subjects"`
}

// TenantScope is a TenantApp that receives the group's members.
type TenantScope struct {
	TenantApp ObjectRef `json:"tenantApp"`
	Scope     string    `json:"scope"`
	Ready     string    `json:"ready"`
}

// Group reports on the one group q names.
func (in *Inspector) Group(ctx context.Context, q Query) (*GroupReport, error) {
	s := in.session(ctx)
	g, err := s.findGroup(q)
	if err != nil {
		return nil, err
	}
	d, err := s.endpoint(client.ObjectKey{Namespace: g.Namespace, Name: g.Spec.Endpoint})
	if err != nil {
		return nil, err
	}
	users, err := s.loadUsers(d)
	if err != nil {
		return nil, err
	}
	r := &GroupReport{Group: *groupRef(g), Grants: []GroupGrant{}, RoleBindings: []Generated{}, TenantApps: []TenantScope{}}
	for _, u := range users {
		if d.isMember(u.Name, g.Name) {
			r.Members++
			if u.Spec.Active && u.DeletionTimestamp.IsZero() {
				r.ActiveMembers++
			}
		}
	}
	bindings, err := s.bindingsOf(d.key)
	if err != nil {
		return nil, err
	}
	for _, b := range bindings {
		if b.group == nil || b.group.Name != g.Name {
			continue
		}
		r.Grants = append(r.Grants, b.groupGrants(users)...)
		r.RoleBindings = append(r.RoleBindings, b.generated()...)
	}
	apps, err := s.tenantAppsOf(d)
	if err != nil {
		return nil, err
	}
	for _, app := range apps {
		if sc := d.scopeOf(app); sc.All || sc.GroupIDs[g.Name] {
			r.TenantApps = append(r.TenantApps, TenantScope{TenantApp: ObjectRef{Kind: "TenantApp", Namespace: app.Namespace, Name: app.Name},
				Scope: scopeText(app), Ready: readyText(app)})
		}
	}
	return r, nil
}

// groupGrants summarises each grant of the binding.
func (b *bindingInfo) groupGrants(users []*scimv1.ScimUser) []GroupGrant {
	ready := "Unknown"
	if c := b.ready(); c != nil {
		ready = string(c.Status) + " (" + c.Reason + ")"
	}
	kind := string(b.d.Subjects.Kind)
	if kind == "" {
		kind = string(scimv1.SubjectUser)
	}
	var out []GroupGrant
	for _, p := range b.places {
		gg := GroupGrant{Binding: b.ref, Role: p.grant.RoleRef, SubjectKind: kind, Namespaces: []string{},
			ClusterWide: p.clusterWide, Ready: ready}
		gg.Namespaces = append(gg.Namespaces, p.namespaces...)
		for _, ns := range b.locations(p) {
			for _, a := range b.accessAt(p, ns, users) {
				switch a.State {
				case Granted:
					gg.Granted++
				case Pending:
					gg.Pending++
				case Revoking:
					gg.Revoking++
				}
			}
		}
		out = append(out, gg)
	}
	return out
}

// generated lists the binding's children.
func (b *bindingInfo) generated() []Generated {
	var out []Generated
	for _, c := range b.rbs {
		out = append(out, Generated{ObjectRef: ObjectRef{Kind: "RoleBinding", Namespace: c.Namespace, Name: c.Name},
			Role: scimv1.RoleRef{Kind: c.RoleRef.Kind, Name: c.RoleRef.Name}, Subjects: len(c.Subjects)})
	}
	for _, c := range b.crbs {
		out = append(out, Generated{ObjectRef: ObjectRef{Kind: "ClusterRoleBinding", Name: c.Name},
			Role: scimv1.RoleRef{Kind: c.RoleRef.Kind, Name: c.RoleRef.Name}, Subjects: len(c.Subjects)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
