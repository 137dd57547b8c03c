// Package operations tests what an operator of scim-operator watches in
// production: the Prometheus metrics after SCIM traffic, and leader election
// with two replicas sharing one API server.
package operations

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
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
	os.Exit(controlplane.RunTests(m, &cp))
}

// replica is an operator that can be stopped once, by the test or at cleanup.
type replica struct {
	*testharness.Operator
	once sync.Once
	err  error
}

// stop stops the operator and waits for it; later calls return the same result.
func (r *replica) stop() error {
	r.once.Do(func() { r.err = r.Operator.Stop() })
	return r.err
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
	op, err := testharness.StartOperatorWith(cp, opts)
	if err != nil {
		t.Fatalf("starting the operator: %v", err)
	}
	r := &replica{Operator: op}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	return r
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

// uniqueName returns prefix plus a random suffix.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
