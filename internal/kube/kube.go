// Package kube holds the small pieces of Kubernetes client set-up shared by
// the operator binary, the local mode and the tests, without pulling test
// machinery (envtest) into the production binary.
package kube

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Scheme returns a scheme with the built-in kinds and the scim-operator API.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := scimv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Tune raises client-go's default client-side rate limit (5 QPS), which would
// otherwise throttle the SCIM server far below what an IdP sends; API
// Priority and Fairness on the server side does the limiting instead.
func Tune(cfg *rest.Config) {
	cfg.QPS = 1000
	cfg.Burst = 2000
}
