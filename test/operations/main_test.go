// Package operations tests what an operator of scim-operator watches in
// production: the Prometheus metrics after SCIM traffic, leader election
// with two replicas sharing one API server, and in-pod TLS with a rotated
// certificate.
package operations

import (
	"net"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// cp is the control plane the package's tests share; each test uses its own
// namespaces. The leader election Lease (namespace default) is shared too, so
// the tests do not run in parallel.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(testharness.RunTests(m, &cp))
}

// replica is an operator of a test; Stop may be called by the test and again
// at cleanup.
type replica struct {
	*testharness.Operator
}

// elected reports whether the replica runs the reconcilers.
func (r *replica) elected() bool {
	select {
	case <-r.Manager.Elected():
		return true
	default:
		return false
	}
}

// start starts an operator and stops it when the test ends.
func start(t *testing.T, opts testharness.Options) *replica {
	t.Helper()
	return &replica{Operator: testharness.RunOperator(t, cp, opts)}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
