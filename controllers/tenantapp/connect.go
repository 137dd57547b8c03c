package tenantapp

import (
	"context"
	"errors"
	"fmt"
	"os"
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
// it once per TenantApp and connection and caches the client. tls is the
// TenantApp's spec.database.tls, with the CA read from its Secret.
type ClientFactory func(ctx context.Context, dsn, schema string, tls tenantdb.TLS) (tenantdb.Client, error)

// DefaultCallTimeout bounds each tenant database call of PostgresClient. It
// is above tenantdb's default because a full pass of a large tenant is one call.
const DefaultCallTimeout = 60 * time.Second

// PostgresClient is the ClientFactory of a real operator.
func PostgresClient(ctx context.Context, dsn, schema string, tls tenantdb.TLS) (tenantdb.Client, error) {
	return tenantdb.New(ctx, tenantdb.Config{DSN: dsn, Schema: schema, Timeout: DefaultCallTimeout, TLS: tls})
}

// PostgresClientWithCAFile is PostgresClient with the PEM bundle at caFile
// (--tenant-db-ca-file, e.g. a mounted ConfigMap) as the roots of TenantApps
// that name no CA Secret. The file is read whenever a client is opened, so a
// rotated mount takes effect at the next connection change.
func PostgresClientWithCAFile(caFile string) ClientFactory {
	return func(ctx context.Context, dsn, schema string, tls tenantdb.TLS) (tenantdb.Client, error) {
		if caFile != "" && len(tls.RootCAs) == 0 {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("reading --tenant-db-ca-file: %w", err)
			}
			tls.RootCAs = pem
		}
		return PostgresClient(ctx, dsn, schema, tls)
	}
}

// ReasonInsecureConnection: the connection string reaches a non-loopback
// host without sslmode=verify-full, and spec.database.tls does not opt out;
// nothing is written.
const ReasonInsecureConnection = "InsecureConnection"

// secretError is a problem with the connection Secret; its message is safe
// for status (it never contains the DSN). reason, when set, replaces
// ReasonConnectionSecretInvalid.
type secretError struct{ msg, reason string }

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
		return &secretError{msg: fmt.Sprintf("Secret %s not found", ref.Name)}
	}
	if version != st.secretVersion {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: ref.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return &secretError{msg: fmt.Sprintf("Secret %s not found", ref.Name)}
			}
			return fmt.Errorf("getting Secret %s/%s: %w", app.Namespace, ref.Name, err)
		}
		st.dsn, st.secretVersion = string(s.Data[ref.Key]), version
	}
	if st.dsn == "" {
		return &secretError{msg: fmt.Sprintf("Secret %s has no key %s, or it is empty", ref.Name, ref.Key)}
	}
	tlsSpec := app.Spec.Database.TLS
	caVersion, err := r.caVersion(ctx, app)
	if err != nil {
		return err
	}
	key := connectionKey(fmt.Sprintf("%s\x00%s\x00%t", st.dsn, caVersion, tlsSpec.InsecureSkipVerify), schemaOf(app))
	if st.client != nil && st.clientKey == key {
		return nil
	}
	st.closeClient()
	tls, err := r.tlsOptions(ctx, app)
	if err != nil {
		return err
	}
	c, err := r.NewClient(ctx, st.dsn, schemaOf(app), tls)
	if err != nil {
		if errors.Is(err, tenantdb.ErrInsecure) {
			return &secretError{reason: ReasonInsecureConnection, msg: fmt.Sprintf(
				"the connection string in Secret %s key %s reaches a non-loopback host without sslmode=verify-full; "+
					"use verify-full (with spec.database.tls.caSecretRef for a private CA) or set spec.database.tls.insecureSkipVerify",
				ref.Name, ref.Key)}
		}
		if errors.Is(err, tenantdb.ErrInvalid) {
			return &secretError{msg: fmt.Sprintf("the connection string in Secret %s key %s cannot be used", ref.Name, ref.Key)}
		}
		return dbFailed("opening tenant database client", err)
	}
	st.setClient(c, key)
	return nil
}

// caVersion is the resourceVersion of the app's CA Secret from the metadata
// cache ("" when it names none), so that a rotated CA opens a new client.
func (r *Reconciler) caVersion(ctx context.Context, app *scimv1.TenantApp) (string, error) {
	ref := app.Spec.Database.TLS.CASecretRef
	if ref == nil {
		return "", nil
	}
	var m metav1.PartialObjectMetadata
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := types.NamespacedName{Namespace: app.Namespace, Name: ref.Name}
	if err := r.Client.Get(ctx, key, &m); err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("getting Secret %s metadata: %w", key, err)
	}
	return m.ResourceVersion, nil
}

// tlsOptions is the app's spec.database.tls for tenantdb, with the CA read
// (uncached) from its Secret.
func (r *Reconciler) tlsOptions(ctx context.Context, app *scimv1.TenantApp) (tenantdb.TLS, error) {
	spec := app.Spec.Database.TLS
	t := tenantdb.TLS{AllowUnverified: spec.InsecureSkipVerify}
	if spec.CASecretRef == nil {
		return t, nil
	}
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: spec.CASecretRef.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return t, &secretError{msg: fmt.Sprintf("CA Secret %s not found", spec.CASecretRef.Name)}
		}
		return t, fmt.Errorf("getting CA Secret %s/%s: %w", app.Namespace, spec.CASecretRef.Name, err)
	}
	if t.RootCAs = s.Data[spec.CASecretRef.Key]; len(t.RootCAs) == 0 {
		return t, &secretError{msg: fmt.Sprintf("CA Secret %s has no key %s, or it is empty", spec.CASecretRef.Name, spec.CASecretRef.Key)}
	}
	return t, nil
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
