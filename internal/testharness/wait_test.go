package testharness

import (
	"strings"
	"testing"
	"time"
)

func TestWaitReturnsOnceTheStateHolds(t *testing.T) {
	calls := 0
	problem := Wait(time.Minute, func() string {
		calls++
		if calls < 3 {
			return "not yet"
		}
		return ""
	})
	if problem != "" || calls != 3 {
		t.Errorf("Wait = %q after %d calls, want \"\" after 3", problem, calls)
	}
}

func TestWaitReturnsTheLastProblem(t *testing.T) {
	calls := 0
	problem := Wait(0, func() string {
		calls++
		return "still broken"
	})
	if problem != "still broken" || calls != 1 {
		t.Errorf("Wait = %q after %d calls, want the problem after one call", problem, calls)
	}
}

func TestUnless(t *testing.T) {
	if got := Unless(true, "bound", "1 subject"); got != "" {
		t.Errorf("Unless(true) = %q, want \"\"", got)
	}
	if got := Unless(false, "bound", "0 subjects"); got != "bound; last state: 0 subjects" {
		t.Errorf("Unless(false) = %q", got)
	}
}

func TestNamespace(t *testing.T) {
	t.Run("A_Very/Long test name that does not fit in one DNS label at all, really", func(t *testing.T) {
		a, b := Namespace(t), Namespace(t)
		if a == b {
			t.Errorf("two calls gave the same namespace %q", a)
		}
		for _, ns := range []string{a, b} {
			if len(ns) > 63 || strings.Trim(ns, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
				strings.HasPrefix(ns, "-") || strings.Contains(ns, "--") {
				t.Errorf("%q is not a DNS label derived from the test name", ns)
			}
			if !strings.HasPrefix(ns, "testnamespace-a-very-long-test-name-that") {
				t.Errorf("%q does not start with the test name", ns)
			}
		}
	})
}
