package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/internal/childproc"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/scimserver"
)

// Environment of the test binary re-executed as an operator process: with
// childKubeconfigEnv set, TestMain runs the operator (runOperatorChild)
// instead of the tests, so a test can SIGKILL a real operator process.
const (
	childKubeconfigEnv = "SCIM_FAULTS_OPERATOR_KUBECONFIG"
	childLeaseEnv      = "SCIM_FAULTS_OPERATOR_LEASE"
)

// Leader election timings of the operator child, shorter than
// controller-runtime's defaults (15 s, 10 s, 2 s) so that a restart after a
// crash, which must wait for the dead leader's Lease to expire, fits the
// suite's time budget.
const (
	childLeaseDuration = 6 * time.Second
	childRenewDeadline = 4 * time.Second
	childRetryPeriod   = time.Second
)

// childHello is what the child prints on stdout: its SCIM address first,
// then, once elected, the time it became leader.
type childHello struct {
	SCIM    string    `json:"scim,omitempty"`
	Elected time.Time `json:"elected,omitzero"`
}

// runOperatorChild runs the operator as main.go does (leader election on, a
// Lease in namespace default) against the control plane of kubeconfig, with
// the SCIM server on a free loopback port, until SIGTERM. Its logs go to
// stderr as JSON, as in production.
func runOperatorChild(kubeconfig, leaseID string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "operator child:", err)
		return 1
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fail(err)
	}
	logger := zap.New(zap.WriteTo(os.Stderr))
	ctrllog.SetLogger(logger)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	op, err := operator.New(cfg, operator.Options{
		MetricsAddr: "0", ProbeAddr: "0", Logger: logger,
		LeaderElection: true, LeaderElectionNamespace: "default", LeaderElectionID: leaseID,
		LeaseDuration: childLeaseDuration, RenewDeadline: childRenewDeadline, RetryPeriod: childRetryPeriod,
		SCIM: scimserver.Options{Listener: ln},
	})
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(childHello{SCIM: ln.Addr().String()}); err != nil {
		return fail(err)
	}
	go func() {
		select {
		case <-op.Manager.Elected():
			_ = out.Encode(childHello{Elected: time.Now()})
		case <-ctx.Done():
		}
	}()
	if err := op.Manager.Start(ctx); err != nil {
		return fail(err)
	}
	return 0
}

// operatorProcess is an operator child started by a test.
type operatorProcess struct {
	// Addr is the SCIM server's host:port.
	Addr string
	// Started is when the process was started.
	Started time.Time
	// electedAt is when it became leader, once waitElected returned.
	electedAt time.Time
	proc      *childproc.Process
	logPath   string
	elected   chan time.Time
}

// startOperatorProcess starts the operator child on the control plane of
// kubeconfig, competing for the Lease leaseID, and returns once it printed
// its SCIM address. It is stopped (SIGTERM) when owner ends, unless killed
// before; a parent death signal kills it should the test binary die. owner
// may be a parent of t, so that the process outlives a subtest.
func startOperatorProcess(t, owner *testing.T, kubeconfig, leaseID string) *operatorProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(owner.TempDir(), "operator.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childKubeconfigEnv+"="+kubeconfig, childLeaseEnv+"="+leaseID)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &operatorProcess{logPath: logPath, elected: make(chan time.Time, 1)}
	p.Started = time.Now()
	if p.proc, err = childproc.Start(cmd, syscall.SIGKILL); err != nil {
		t.Fatalf("starting the operator process: %v", err)
	}
	go func() { <-p.proc.Done(); logf.Close() }()
	owner.Cleanup(func() {
		p.stop()
		if owner.Failed() {
			owner.Logf("operator process %d log (tail, without audit lines):\n%s", p.proc.Pid(), p.logTail(30))
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var h childHello
			if json.Unmarshal(sc.Bytes(), &h) != nil {
				continue
			}
			if h.SCIM != "" {
				addr <- h.SCIM
			}
			if !h.Elected.IsZero() {
				p.elected <- h.Elected
			}
		}
	}()
	select {
	case p.Addr = <-addr:
		return p
	case <-p.proc.Done():
		t.Fatalf("the operator process exited at start: %v", p.proc.Err())
	case <-time.After(time.Minute):
		t.Fatal("the operator process printed no address within a minute")
	}
	return nil
}

// kill sends SIGKILL, a crash: nothing is released or flushed.
func (p *operatorProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.proc.Kill(); err != nil {
		t.Fatalf("killing the operator process: %v", err)
	}
}

// stop sends SIGTERM and waits, killing the process after 30 s.
func (p *operatorProcess) stop() {
	p.proc.Stop(syscall.SIGTERM, 30*time.Second)
}

// waitElected waits until the process leads and returns when it was elected.
func (p *operatorProcess) waitElected(t *testing.T, within time.Duration) time.Time {
	t.Helper()
	select {
	case p.electedAt = <-p.elected:
		return p.electedAt
	case <-p.proc.Done():
		t.Fatalf("the operator process exited before it was elected: %v", p.proc.Err())
	case <-time.After(within):
		t.Fatalf("the operator process was not elected within %v", within)
	}
	return time.Time{}
}

// alive fails the test when the process has exited on its own.
func (p *operatorProcess) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.proc.Done():
		t.Fatalf("the operator process exited on its own: %v", p.proc.Err())
	default:
	}
}

// logTail returns the last n lines of the process's log.
func (p *operatorProcess) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if !strings.Contains(l, `"logger":"audit"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
