package childproc_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/childproc"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// helperEnv makes the test binary act as the parent that
// TestKilledParentLeavesNoChildren kills: "sleep" starts one child through
// Start, "stack" a control plane and PostgreSQL with an open session.
const helperEnv = "CHILDPROC_TEST_HELPER"

// goneWithin bounds how long the children may take to end after their parent
// was killed; it is a wait, not a timing assertion.
const goneWithin = 10 * time.Second

// TestHelperParent is not a test: it is the parent process that
// TestKilledParentLeavesNoChildren kills. It starts its children, prints
// every descendant process as "pid <pid> <name>", then "ready", and waits.
func TestHelperParent(t *testing.T) {
	what := os.Getenv(helperEnv)
	if what == "" {
		t.Skip("helper process only")
	}
	fail := func(err error) { fmt.Println("error", err); os.Exit(1) }
	switch what {
	case "sleep":
		if _, err := childproc.Start(exec.Command("sleep", "300"), syscall.SIGKILL); err != nil {
			fail(err)
		}
	case "stack":
		if _, err := controlplane.Start(controlplane.Options{}); err != nil {
			fail(err)
		}
		ctx := context.Background()
		pg, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			fail(err)
		}
		// An open session, so that a backend process runs beside the postmaster.
		if _, err := pgx.Connect(ctx, pg.DSN("postgres")); err != nil {
			fail(err)
		}
	}
	for _, p := range testharness.Descendants(os.Getpid()) {
		fmt.Println("pid", p.PID, p.Name)
	}
	fmt.Println("ready")
	time.Sleep(5 * time.Minute)
	os.Exit(1)
}

// TestKilledParentLeavesNoChildren SIGKILLs a parent — no cleanup runs — and
// checks that every process it started, and their own children, end.
func TestKilledParentLeavesNoChildren(t *testing.T) {
	for _, tc := range []struct {
		helper string
		want   []string // process names that must be among the children
	}{
		{"sleep", []string{"sleep"}},
		{"stack", []string{"etcd", "kube-apiserver", "postgres"}},
	} {
		t.Run(tc.helper, func(t *testing.T) {
			children := runAndKillHelper(t, tc.helper)
			t.Logf("the killed parent had started %v", children)
			names := map[string]int{}
			for _, c := range children {
				names[c.Name]++
			}
			for _, n := range tc.want {
				if names[n] == 0 {
					t.Fatalf("the helper started no %s; its descendants: %v", n, children)
				}
			}
			if tc.helper == "stack" && names["postgres"] < 3 {
				t.Fatalf("want the postmaster, its auxiliary processes and a backend; descendants: %v", children)
			}
			deadline := time.Now().Add(goneWithin)
			for _, c := range children {
				for !c.Gone() && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if !c.Gone() {
					t.Errorf("%s outlived its SIGKILLed parent by %s", c, goneWithin)
					_ = syscall.Kill(c.PID, syscall.SIGKILL) // leave nothing behind
				}
			}
		})
	}
}

// runAndKillHelper starts the helper parent, reads the processes it
// started, SIGKILLs it and returns them.
func runAndKillHelper(t *testing.T, helper string) []testharness.Proc {
	t.Helper()
	// The helper's temporary files (envtest's, PostgreSQL's) go to a
	// directory this test removes; 0711 lets the unprivileged PostgreSQL user
	// through when tests run as root.
	tmp, err := os.MkdirTemp("", "childproc-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o711); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParent$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), helperEnv+"="+helper, "TMPDIR="+tmp)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var children []testharness.Proc
	lines := bufio.NewScanner(out)
	ready := false
	for !ready && lines.Scan() {
		line := lines.Text()
		switch {
		case line == "ready":
			ready = true
		case strings.HasPrefix(line, "error "):
			t.Fatalf("helper: %s", line)
		case strings.HasPrefix(line, "pid "):
			f := strings.Fields(line)
			pid, _ := strconv.Atoi(f[1])
			if p, ok := testharness.LookupProc(pid); ok {
				children = append(children, p)
			}
		}
	}
	if !ready {
		t.Fatal("the helper ended before it was ready")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return children
}

func TestParentRunsEverythingOnOneThread(t *testing.T) {
	parent := childproc.NewParent()
	defer parent.Close()
	var first, second int
	parent.Do(func() { first = syscall.Gettid() })
	done := make(chan struct{})
	go func() { defer close(done); parent.Do(func() { second = syscall.Gettid() }) }()
	<-done
	if first != second {
		t.Errorf("Do ran on threads %d and %d, want one", first, second)
	}
}
