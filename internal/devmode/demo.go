package devmode

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// demoObjects are the objects the local mode starts with: endpoint default/okta
// with its token Secret, TenantApp default/demo-app on the local PostgreSQL,
// and a binding of ClusterRole view in default to the group k8s-viewers, whose
// subjects are named as the local API server authenticates OIDC tokens.
func demoObjects(token, dsn string) []client.Object {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "default", Name: name} }
	return []client.Object{
		&corev1.Secret{ObjectMeta: tokenMeta(meta("okta-scim-token")), StringData: map[string]string{"token": token}},
		&scimv1.ScimEndpoint{ObjectMeta: meta("okta"), Spec: scimv1.ScimEndpointSpec{
			TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-scim-token", Key: "token"}},
		}},
		&corev1.Secret{ObjectMeta: meta("demo-app-db"), StringData: map[string]string{"dsn": dsn}},
		&scimv1.TenantApp{ObjectMeta: meta("demo-app"), Spec: scimv1.TenantAppSpec{
			Endpoint: "okta",
			Database: scimv1.TenantDatabase{ConnectionSecretRef: scimv1.SecretKeyReference{Name: "demo-app-db", Key: "dsn"}},
		}},
		&scimv1.ScimRoleBinding{ObjectMeta: meta("k8s-viewers"), Spec: scimv1.ScimRoleBindingSpec{
			Endpoint: "okta",
			Group:    scimv1.GroupReference{DisplayName: "k8s-viewers"},
			RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			// The same prefix and attribute the local API server's authenticator
			// gives the tokens of OIDC_TOKEN_CMD: oidc:<userName>.
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName, Prefix: UsernamePrefix},
		}},
	}
}

func createDemo(ctx context.Context, c client.Client, token, dsn string) error {
	for _, obj := range demoObjects(token, dsn) {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating demo %T %s: %w", obj, obj.GetName(), err)
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
