package tenantapp

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Field indexes this package adds to the manager's cache, so that an event
// finds the affected TenantApps, and a pass its inputs, without list scans.
const (
	// IndexAppEndpoint indexes TenantApps by their endpoint,
	// "<namespace>/<name>": TenantApps of other namespaces may use it.
	IndexAppEndpoint = "tenantapp.endpoint"
	// IndexAppSecret indexes TenantApps by the name of their connection Secret.
	IndexAppSecret = "tenantapp.connectionSecret"
	// IndexMembershipEndpoint indexes ScimMemberships by their endpoint label.
	IndexMembershipEndpoint = "tenantapp.membership.endpoint"
	// IndexUserHeld indexes ScimUsers carrying FinalizerUsers by endpoint,
	// and all of them under heldAnyEndpoint, so the finalizers of endpoints
	// without TenantApps are found and released.
	IndexUserHeld = "tenantapp.user.held"
)

// heldAnyEndpoint is the IndexUserHeld value every held user has; endpoint
// names cannot take it.
const heldAnyEndpoint = "*"

// RegisterIndexes adds this package's field indexes to the manager's cache.
// The SCIM server's indexes (scimstore.RegisterIndexes) must be registered too.
func RegisterIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	for _, i := range []struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}{
		{&scimv1.TenantApp{}, IndexAppEndpoint, func(o client.Object) []string {
			return []string{o.(*scimv1.TenantApp).EndpointRef().String()}
		}},
		{&scimv1.TenantApp{}, IndexAppSecret, func(o client.Object) []string {
			return []string{o.(*scimv1.TenantApp).Spec.Database.ConnectionSecretRef.Name}
		}},
		{&scimv1.ScimMembership{}, IndexMembershipEndpoint, func(o client.Object) []string {
			if ep := o.GetLabels()[scimv1.LabelEndpoint]; ep != "" {
				return []string{ep}
			}
			return nil
		}},
		{&scimv1.ScimUser{}, IndexUserHeld, func(o client.Object) []string {
			if controllerutil.ContainsFinalizer(o, FinalizerUsers) {
				return []string{o.(*scimv1.ScimUser).Spec.Endpoint, heldAnyEndpoint}
			}
			return nil
		}},
	} {
		if err := indexer.IndexField(ctx, i.obj, i.field, i.fn); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", i.obj, i.field, err)
		}
	}
	return nil
}

// appsOf lists the TenantApps of an endpoint from the cache, in every
// namespace, deleted ones included.
func (r *Reconciler) appsOf(ctx context.Context, namespace, endpoint string) ([]scimv1.TenantApp, error) {
	var apps scimv1.TenantAppList
	if err := r.Client.List(ctx, &apps,
		client.MatchingFields{IndexAppEndpoint: namespace + "/" + endpoint}); err != nil {
		return nil, fmt.Errorf("listing TenantApps of endpoint %s/%s: %w", namespace, endpoint, err)
	}
	return apps.Items, nil
}

// requestsForEndpoint maps an event of an endpoint's resource to the
// endpoint's TenantApps.
func (r *Reconciler) requestsForEndpoint(ctx context.Context, namespace, endpoint string) []reconcile.Request {
	if endpoint == "" {
		return nil
	}
	apps, err := r.appsOf(ctx, namespace, endpoint)
	if err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, len(apps))
	for i := range apps {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&apps[i])}
	}
	return reqs
}

// requestsForUser maps a ScimUser event to its endpoint's TenantApps.
func (r *Reconciler) requestsForUser(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForEndpoint(ctx, o.GetNamespace(), o.(*scimv1.ScimUser).Spec.Endpoint)
}

// requestsForGroup maps a ScimGroup event to its endpoint's TenantApps.
func (r *Reconciler) requestsForGroup(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForEndpoint(ctx, o.GetNamespace(), o.(*scimv1.ScimGroup).Spec.Endpoint)
}

// requestsForMembership maps a ScimMembership event to its endpoint's
// TenantApps, through the endpoint label the SCIM server sets on every shard.
func (r *Reconciler) requestsForMembership(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForEndpoint(ctx, o.GetNamespace(), o.GetLabels()[scimv1.LabelEndpoint])
}

// requestsForSecret maps a Secret event to the TenantApps connecting through it.
func (r *Reconciler) requestsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var apps scimv1.TenantAppList
	if err := r.Client.List(ctx, &apps, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{IndexAppSecret: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, len(apps.Items))
	for i := range apps.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&apps.Items[i])}
	}
	return reqs
}

// requestsForNamespace maps a namespace's label change to its TenantApps
// that use another namespace's endpoint: whether that endpoint's
// allowedNamespaces selector allows them may have changed.
func (r *Reconciler) requestsForNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var apps scimv1.TenantAppList
	if err := r.Client.List(ctx, &apps, client.InNamespace(o.GetName())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range apps.Items {
		if a := &apps.Items[i]; a.EndpointRef().Namespace != a.Namespace {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(a)})
		}
	}
	return reqs
}
