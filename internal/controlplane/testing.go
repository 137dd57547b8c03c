package controlplane

import (
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/kube"
)

// Scheme returns a scheme with the built-in kinds and the scim-operator API.
func Scheme() *runtime.Scheme { return kube.Scheme() }

// Client returns an uncached client for the control plane.
func (c *ControlPlane) Client() (client.Client, error) {
	return client.New(c.Config, client.Options{Scheme: Scheme()})
}
