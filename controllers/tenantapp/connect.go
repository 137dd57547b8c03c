package tenantapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// ClientFactory opens a tenant database client; it must not connect yet (a
// database that is down is reported by the first call). The Reconciler calls
// it once per TenantApp and connection and caches the client.
type ClientFactory func(ctx context.Context, dsn, schema string) (tenantdb.Client, error)

// DefaultCallTimeout bounds each tenant database call of PostgresClient. It
// is above tenantdb's default because a full pass of a large tenant is one call.
const DefaultCallTimeout = 60 * time.Second

// PostgresClient is the ClientFactory of a real operator.
func PostgresClient(ctx context.Context, dsn, schema string) (tenantdb.Client, error) {
	return tenantdb.New(ctx, tenantdb.Config{DSN: dsn, Schema: schema, Timeout: DefaultCallTimeout})
}

// secretError is a problem with the connection Secret; its message is safe
// for status (it never contains the DSN).
type secretError struct{ msg string }

func (e *secretError) Error() string { return e.msg }

// dbError marks a failed tenant database call, as opposed to a Kubernetes API
// error: it is retried with the controller's own backoff.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// dbFailed wraps err from a tenant database call as a dbError.
func dbFailed(what string, err error) error { return &dbError{err: fmt.Errorf("%s: %w", what, err)} }

// schemaOf is the app's schema, tenantdb's default when unset.
func schemaOf(app *scimv1.TenantApp) string {
	if app.Spec.Database.Schema == "" {
		return tenantdb.DefaultSchema
	}
	return app.Spec.Database.Schema
}

// secretVersion returns the resourceVersion of the app's connection Secret
// from the metadata cache; "" when the Secret does not exist.
func (r *Reconciler) secretVersion(ctx context.Context, app *scimv1.TenantApp) (string, error) {
	var m metav1.PartialObjectMetadata
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Spec.Database.ConnectionSecretRef.Name}
	if err := r.Client.Get(ctx, key, &m); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("getting Secret %s metadata: %w", key, err)
	}
	return m.ResourceVersion, nil
}

// connect makes st.client a client for the app's current DSN and schema. The
// Secret is read (uncached: the operator does not cache Secret data) only
// when its resourceVersion changed.
func (r *Reconciler) connect(ctx context.Context, app *scimv1.TenantApp, st *appState) error {
	ref := app.Spec.Database.ConnectionSecretRef
	version, err := r.secretVersion(ctx, app)
	if err != nil {
		return err
	}
	if version == "" {
		return &secretError{fmt.Sprintf("Secret %s not found", ref.Name)}
	}
	if version != st.secretVersion {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: ref.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return &secretError{fmt.Sprintf("Secret %s not found", ref.Name)}
			}
			return fmt.Errorf("getting Secret %s/%s: %w", app.Namespace, ref.Name, err)
		}
		st.dsn, st.secretVersion = string(s.Data[ref.Key]), version
	}
	if st.dsn == "" {
		return &secretError{fmt.Sprintf("Secret %s has no key %s, or it is empty", ref.Name, ref.Key)}
	}
	key := connectionKey(st.dsn, schemaOf(app))
	if st.client != nil && st.clientKey == key {
		return nil
	}
	st.closeClient()
	c, err := r.NewClient(ctx, st.dsn, schemaOf(app))
	if err != nil {
		if errors.Is(err, tenantdb.ErrInvalid) {
			return &secretError{fmt.Sprintf("the connection string in Secret %s key %s cannot be used", ref.Name, ref.Key)}
		}
		return dbFailed("opening tenant database client", err)
	}
	st.setClient(c, key)
	return nil
}

// migrate applies the table contract's migrations once per client (and again
// after any failure, in case the database was restored from scratch).
func (r *Reconciler) migrate(ctx context.Context, _ *scimv1.TenantApp, st *appState) error {
	if st.schemaVersion > 0 {
		return nil
	}
	v, err := st.client.Migrate(ctx)
	if err != nil {
		return dbFailed("migrating tenant database", err)
	}
	st.schemaVersion = v
	return nil
}
