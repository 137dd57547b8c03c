// Package rolebinding projects ScimRoleBindings and ScimClusterRoleBindings
// into RoleBindings and ClusterRoleBindings whose subjects are always the
// active members of a SCIM group (docs/role-bindings.md), refusing grants that would let a
// tenant escalate (docs/security.md).
package rolebinding

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// Reconciler keeps the RoleBindings of every binding equal to the active
// members of its group. Both binding kinds share it through thin adapters.
type Reconciler struct {
	Client       client.Client
	APIReader    client.Reader
	Recorder     events.EventRecorder
	AllowedRoles AllowList
	// Guard is asked before subjects are removed (nil: every revocation is
	// applied at once).
	Guard *deprovision.Guard
	// Lag records the projection lag (nil: not recorded).
	Lag *telemetry.ProjectionLag
	// users reads member users straight from the informer's store;
	// SetupWithManager sets it (nil: through Client).
	users *userStore
}

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimrolebindings;scimclusterrolebindings;scimentitlements,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimrolebindings/status;scimclusterrolebindings/status;scimentitlements/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimrolebindings/finalizers;scimclusterrolebindings/finalizers;scimentitlements/finalizers,verbs=update
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers;scimgroups;scimmemberships;scimendpoints,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles,verbs=bind
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// reconcile is the shared reconcile of both kinds: get → finalizer → normal or
// delete → one status write.
func (r *Reconciler) reconcile(ctx context.Context, b binding) (ctrl.Result, error) {
	if !b.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, b)
	}
	// The finalizer goes on before any child exists, in the same pass: a
	// metadata-only update does not change the generation, so no new event
	// would bring the binding back.
	if controllerutil.AddFinalizer(b.object(), Finalizer) {
		if err := r.Client.Update(ctx, b.object()); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	before := b.status().DeepCopy()
	outcome, err := r.reconcileNormal(ctx, b)
	var notOurs *notOursError
	if errors.As(err, &notOurs) {
		outcome.reason, outcome.conflict, err = ReasonConflict, notOurs.key, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	r.recordTransitions(b, before, outcome)
	setStatus(b, outcome)
	if !equality.Semantic.DeepEqual(before, b.status()) {
		if err := r.Client.Status().Update(ctx, b.object()); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
			}
			return ctrl.Result{}, fmt.Errorf("updating %s status: %w", bindingRef(b), err)
		}
	}
	if outcome.reason == ReasonConflict {
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	return ctrl.Result{}, nil
}

// outcome is what one pass of reconcileNormal found and did.
type outcome struct {
	reason     string         // a Reason* constant
	refused    scimv1.RoleRef // the grant not on the allow-list (ReasonRoleNotAllowed)
	groupID    string
	groupFrom  string // the reference groupID was resolved from
	subjects   int
	members    int // active members the grant reaches
	skipped    int // active members whose subject name is unsafe
	conflict   string
	namespaces []string
	// group and sources (every member user found, active or not, by
	// shard) are the sources of the grant: the projection lag is measured
	// from their newest SCIM write (see newestWrite).
	group       *scimv1.ScimGroup
	sources     *[Shards + 1][]*scimv1.ScimUser
	activeCount int
	// held is set when the deprovisioning guard did not admit this pass's
	// revocations: no subject is removed.
	held bool
}

// reconcileNormal computes the desired children and applies them, removing
// every owned child that is no longer desired. When the grant is refused or
// cannot be resolved, the desired set is empty: nothing stays granted.
// Revocations the identity provider caused are admitted by the
// deprovisioning guard first; those of an administrator's spec change are not.
func (r *Reconciler) reconcileNormal(ctx context.Context, b binding) (outcome, error) {
	out, shards, err := r.resolve(ctx, b)
	if err != nil {
		return out, err
	}
	// The owned children are listed once: the guard counts what they
	// grant, and apply compares against them.
	rbs, err := r.ownedRoleBindings(ctx, b)
	if err != nil {
		return out, err
	}
	crbs, err := r.ownedClusterRoleBindings(ctx, b)
	if err != nil {
		return out, err
	}
	// Where each role is granted: the namespaces that exist among the
	// grant's targets (none for a cluster-wide grant).
	places, err := r.place(ctx, b)
	if err != nil {
		return out, err
	}
	if out.reason == ReasonBound || out.reason == ReasonGroupNotFound {
		n := revocations(b, shards, rbs, places) + revocations(b, shards, crbs, places)
		if n > 0 && r.Guard != nil && !specChanged(b) {
			admitted, err := r.Guard.Admit(ctx, b.endpoint(), bindingRef(b), n)
			if err != nil {
				return out, err
			}
			out.held = !admitted
		}
	}
	if out.held && out.reason == ReasonGroupNotFound {
		return out, nil // a deleted group is a revocation too: its grants stay
	}
	var wantRB []*rbacv1.RoleBinding
	var wantCRB []*rbacv1.ClusterRoleBinding
	if out.reason == ReasonBound {
		for _, p := range places {
			if p.target.ClusterWide {
				wantCRB = append(wantCRB, desiredClusterRoleBindings(b, p.grant, shards)...)
				continue
			}
			for _, ns := range sortedKeys(p.in) {
				wantRB = append(wantRB, desiredRoleBindings(b, p.grant, ns, shards)...)
			}
		}
		out.namespaces = grantedNamespaces(places)
	}
	subjects := shards.count()
	if out.held {
		wantRB = keepTrusted(wantRB, rbs, places)
		wantCRB = keepTrusted(wantCRB, crbs, places)
		subjects = len(granted(wantRB, wantCRB))
	}
	// Revocations of both kinds go first; one failing child does not stop
	// the others.
	wroteRB, errRB := applyChildren(ctx, r, b, wantRB, rbs)
	wroteCRB, errCRB := applyChildren(ctx, r, b, wantCRB, crbs)
	if err := errors.Join(errRB, errCRB); err != nil {
		return out, err
	}
	if written := append(wroteRB, wroteCRB...); len(written) > 0 && r.Lag != nil {
		r.Lag.Applied(telemetry.ProjectionRBAC, string(b.GetUID()), out.newestWrite(written, places))
	}
	if out.reason == ReasonBound {
		out.subjects = subjects
		out.members = subjects
		if b.subjects().Kind == scimv1.SubjectGroup && subjects > 0 {
			out.members = out.activeCount
		}
	}
	return out, nil
}

// specChanged reports whether the binding's spec changed since its last
// pass: an administrator's decision, which the guard does not hold.
func specChanged(b binding) bool {
	return b.status().ObservedGeneration != 0 && b.status().ObservedGeneration != b.GetGeneration()
}

// resolve checks the grants are allowed and finds who they reach: the
// group and its active members, or the active users granted the entitlement.
func (r *Reconciler) resolve(ctx context.Context, b binding) (outcome, subjectShards, error) {
	out := outcome{groupID: b.status().GroupID, groupFrom: b.status().GroupResolvedFrom}
	for _, g := range b.grants() {
		if !r.AllowedRoles.Allows(g.roleRef) {
			out.reason, out.refused = ReasonRoleNotAllowed, g.roleRef
			return out, nil, nil
		}
	}
	var ep scimv1.ScimEndpoint
	if err := r.Client.Get(ctx, b.endpoint(), &ep); err != nil || !ep.DeletionTimestamp.IsZero() {
		if err != nil && !apierrors.IsNotFound(err) {
			return out, nil, fmt.Errorf("getting ScimEndpoint %s: %w", b.endpoint(), err)
		}
		out.reason = ReasonEndpointNotFound
		return out, nil, nil
	}
	allowed, err := r.endpointAllows(ctx, &ep, b.GetNamespace())
	if err != nil || !allowed {
		out.reason = ReasonEndpointNotAllowed
		return out, nil, err
	}
	if _, ok := b.(entitled); ok && b.GetNamespace() != ep.Namespace && !grantsOnlyIn(b, b.GetNamespace()) {
		out.reason = ReasonGrantOutsideNamespace
		return out, nil, nil
	}
	if role := b.entitlement(); role != "" {
		found, err := r.entitledUsers(ctx, b.endpoint(), role)
		if err != nil {
			return out, nil, err
		}
		users := b.subjects()
		users.Kind = scimv1.SubjectUser // the API allows no other for an entitlement
		p := desiredSubjects(users, nil, found, entitledActive)
		out.sources, out.activeCount, out.skipped, out.reason = &p.sources, p.active, p.skipped, ReasonBound
		return out, p.shards, nil
	}
	group, err := r.findGroup(ctx, b)
	if err != nil {
		return out, nil, err
	}
	if group == nil {
		out.reason = ReasonGroupNotFound
		return out, nil, nil
	}
	out.groupID, out.groupFrom = group.Name, groupRefKey(b)
	found, err := r.memberUsers(ctx, b.endpoint(), group.Name)
	if err != nil {
		return out, nil, err
	}
	p := desiredSubjects(b.subjects(), group, found, activeMember(b.endpoint().Name))
	out.group, out.sources, out.activeCount, out.skipped = group, &p.sources, p.active, p.skipped
	out.reason = ReasonBound
	return out, p.shards, nil
}

// grantsOnlyIn reports whether every grant of b is in namespace ns alone:
// what a tenant's entitlement may grant, as a ScimRoleBinding grants only in
// its own namespace, whatever the admission policy let its author write.
func grantsOnlyIn(b binding, ns string) bool {
	for _, g := range b.grants() {
		if g.target.ClusterWide || g.target.NamespaceSelector != nil || len(g.target.Namespaces) != 1 || g.target.Namespaces[0] != ns {
			return false
		}
	}
	return true
}

// endpointAllows reports whether ep allows a binding in namespace ns to use
// it. A ScimClusterRoleBinding (no namespace) is an administrator's, and a
// binding or entitlement in the endpoint's own namespace is its owner's:
// both are always allowed. A namespace that is gone allows nothing.
func (r *Reconciler) endpointAllows(ctx context.Context, ep *scimv1.ScimEndpoint, ns string) (bool, error) {
	if ns == "" || ns == ep.Namespace {
		return true, nil
	}
	var n corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("getting namespace %s: %w", ns, err)
	}
	return ep.AllowsNamespace(ns, n.Labels), nil
}

// newestWrite is when the SCIM server last wrote the group or any of the
// users whose subject the written children hold or held. It reads their
// annotations, which cost more than the rest of a pass over a large group:
// it is computed only for a pass that wrote, the only one whose lag is
// recorded, and only for the users of the shards written (a change of one
// member of a large group reads 1/64 of them). A write of shard 0, which
// holds every subject of a small group, reads them all.
func (o outcome) newestWrite(written []string, places []placement) time.Time {
	var w scimv1.NewestWrite
	if o.group != nil {
		w.Observe(o.group)
	}
	if o.sources == nil {
		return w.Time()
	}
	read := make([]bool, Shards+1)
	read[Shards] = true // users without a subject name
	for _, name := range written {
		n, ok := childShard(name, places)
		if !ok || n == 0 {
			read = nil
			break
		}
		read[n] = true
	}
	for n, users := range o.sources {
		if read == nil || read[n] {
			for _, u := range users {
				w.Observe(u)
			}
		}
	}
	return w.Time()
}

// groupRefKey is the reference a group id is pinned for: the endpoint and
// spec.group. A pin holds only while this key is unchanged, so an edit of
// spec.group moves the grant, and an IdP rename does not.
func groupRefKey(b binding) string {
	ep, ref := b.endpoint(), b.group()
	if ref.ID != "" {
		return ep.Namespace + "/" + ep.Name + "/id:" + ref.ID
	}
	return ep.Namespace + "/" + ep.Name + "/name:" + strings.ToLower(ref.DisplayName)
}

// findGroup returns the bound group: the pinned id while spec.group and the
// endpoint are those it was resolved from (stable across renames), else the
// reference by id or displayName.
func (r *Reconciler) findGroup(ctx context.Context, b binding) (*scimv1.ScimGroup, error) {
	ep := b.endpoint()
	get := func(id string) (*scimv1.ScimGroup, error) {
		var g scimv1.ScimGroup
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: id}, &g)
		if apierrors.IsNotFound(err) || (err == nil && (g.Spec.Endpoint != ep.Name || !g.DeletionTimestamp.IsZero())) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("getting ScimGroup %s/%s: %w", ep.Namespace, id, err)
		}
		return &g, nil
	}
	ref := b.group()
	if ref.ID != "" {
		return get(ref.ID)
	}
	if st := b.status(); st.GroupID != "" && st.GroupResolvedFrom == groupRefKey(b) {
		// Pinned: while the group exists, a rename in the IdP neither
		// moves the grant nor lets another group take it over. Only once
		// it is gone is the name looked up again.
		if g, err := get(st.GroupID); g != nil || err != nil {
			return g, err
		}
	}
	var list scimv1.ScimGroupList
	if err := r.Client.List(ctx, &list, client.InNamespace(ep.Namespace),
		client.MatchingFields{scimstore.IndexGroupDisplayName: ep.Name + "/" + strings.ToLower(ref.DisplayName)}); err != nil {
		return nil, fmt.Errorf("finding ScimGroup %q: %w", ref.DisplayName, err)
	}
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp.IsZero() {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// granted returns the distinct subjects of the children, sorted by name.
func granted(rbs []*rbacv1.RoleBinding, crbs []*rbacv1.ClusterRoleBinding) []rbacv1.Subject {
	seen := map[rbacv1.Subject]bool{}
	var out []rbacv1.Subject
	add := func(subjects []rbacv1.Subject) {
		for _, s := range subjects {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	for _, rb := range rbs {
		add(rb.Subjects)
	}
	for _, crb := range crbs {
		add(crb.Subjects)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
