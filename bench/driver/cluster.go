package driver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// Cluster is a fresh kube-apiserver and etcd with the CRDs, an admin client
// for the driver and a kubeconfig for the operator subprocess.
type Cluster struct {
	CP         *controlplane.ControlPlane
	Client     client.Client
	Kubeconfig string
}

// StartCluster starts a control plane and writes its kubeconfig into dir.
func StartCluster(dir string) (*Cluster, error) {
	cp, err := controlplane.Start(controlplane.Options{})
	if err != nil {
		return nil, err
	}
	cl := &Cluster{CP: cp, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	kc, err := cp.KubeConfig()
	if err == nil {
		err = os.WriteFile(cl.Kubeconfig, kc, 0o600)
	}
	if err == nil {
		cl.Client, err = cp.Client()
	}
	if err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return cl, nil
}

// Stop stops the control plane and removes its data.
func (c *Cluster) Stop() error {
	_ = os.Remove(c.Kubeconfig)
	return c.CP.Stop()
}

// Endpoint is a ScimEndpoint and its bearer token.
type Endpoint struct {
	Namespace, Name, Token string
}

// CreateEndpoint creates a namespace, a token Secret and a ScimEndpoint. The
// endpoint's rate limit is raised far above the default 50 requests per
// second: the benchmark measures what the system sustains, not the limiter.
func (c *Cluster) CreateEndpoint(ctx context.Context, ns, name string) (Endpoint, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{Namespace: ns, Name: name, Token: hex.EncodeToString(buf)}
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: n} }
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: tokenMeta(meta(name + "-token")), StringData: map[string]string{"token": ep.Token}},
		&scimv1.ScimEndpoint{ObjectMeta: meta(name), Spec: scimv1.ScimEndpointSpec{
			TokenSecretRefs: []scimv1.SecretKeyReference{{Name: name + "-token", Key: "token"}},
			RateLimit:       scimv1.RateLimit{RequestsPerSecond: 100_000, Burst: 100_000},
		}},
	}
	return ep, c.createAll(ctx, objs)
}

// CreateBinding binds ClusterRole view, in the endpoint's namespace, to the
// active members of the group with displayName group.
func (c *Cluster) CreateBinding(ctx context.Context, ep Endpoint, name, group string) error {
	return c.createAll(ctx, []client.Object{&scimv1.ScimRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: ep.Name, Group: scimv1.GroupReference{DisplayName: group},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
	}})
}

// CreateEntitlement publishes a catalog entry of the endpoint granting
// ClusterRole view in the endpoint's namespace to the users holding it.
func (c *Cluster) CreateEntitlement(ctx context.Context, ep Endpoint, name string) error {
	return c.createAll(ctx, []client.Object{&scimv1.ScimEntitlement{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name},
		Spec: scimv1.ScimEntitlementSpec{Endpoint: ep.Name, DisplayName: "Bench access",
			Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}}}},
	}})
}

// CreateTenantApp creates a TenantApp projecting the endpoint into the
// database of dsn (default schema "scim"), with its connection Secret.
func (c *Cluster) CreateTenantApp(ctx context.Context, ep Endpoint, name, dsn string) error {
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ep.Namespace, Name: n} }
	return c.createAll(ctx, []client.Object{
		&corev1.Secret{ObjectMeta: meta(name + "-db"), StringData: map[string]string{"dsn": dsn}},
		&scimv1.TenantApp{ObjectMeta: meta(name), Spec: scimv1.TenantAppSpec{Endpoint: ep.Name,
			Database: scimv1.TenantDatabase{ConnectionSecretRef: scimv1.SecretKeyReference{Name: name + "-db", Key: "dsn"}}}},
	})
}

func (c *Cluster) createAll(ctx context.Context, objs []client.Object) error {
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// tokenMeta labels a token Secret so a ScimEndpoint may use it.
func tokenMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[scimv1.LabelTokenSecret] = "true"
	return m
}
