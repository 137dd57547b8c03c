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
	for _, p := range descendants(os.Getpid()) {
		fmt.Println("pid", p.pid, p.name)
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
				names[c.name]++
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
				for !c.gone() && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if !c.gone() {
					t.Errorf("%s (pid %d) outlived its SIGKILLed parent by %s", c.name, c.pid, goneWithin)
					_ = syscall.Kill(c.pid, syscall.SIGKILL) // leave nothing behind
				}
			}
		})
	}
}

// runAndKillHelper starts the helper parent, reads the processes it
// started, SIGKILLs it and returns them.
func runAndKillHelper(t *testing.T, helper string) []proc {
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
	var children []proc
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
			children = append(children, proc{pid: pid, name: f[2], start: startTime(pid)})
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

// proc is a process seen in /proc.
type proc struct {
	pid   int
	name  string
	start string // start time, so that a reused pid does not count as the process
}

func (p proc) String() string { return fmt.Sprintf("%s(%d)", p.name, p.pid) }

// gone reports whether the process no longer runs; a zombie counts as gone,
// since a container's init may never reap it.
func (p proc) gone() bool {
	f := statFields(p.pid)
	return f == nil || f[0] == "Z" || f[19] != p.start
}

// startTime returns the process's start time as /proc/<pid>/stat says.
func startTime(pid int) string {
	if f := statFields(pid); f != nil {
		return f[19]
	}
	return ""
}

// statFields returns the fields of /proc/<pid>/stat after the name: state
// first, ppid second, start time twentieth; nil when there is no such process.
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return nil
	}
	return f
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); f != nil {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []proc
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		out = append(out, proc{pid: p, name: strings.TrimSpace(string(comm)), start: startTime(p)})
		queue = append(queue, children[p]...)
	}
	return out
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
