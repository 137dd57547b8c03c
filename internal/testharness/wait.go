package testharness

import (
	"testing"
	"time"
)

// PollInterval is how often Wait and Eventually ask their condition again.
const PollInterval = 50 * time.Millisecond

// Wait calls cond every PollInterval until it answers "" (the awaited state
// holds) or timeout has passed, and returns cond's last answer: "" when the
// state was reached, else the problem last seen. It never touches a
// testing.T, so goroutines other than the test's may wait with it. It is a
// wait, not a timing assertion: timeout only bounds a test that would hang.
func Wait(timeout time.Duration, cond func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		problem := cond()
		if problem == "" || time.Now().After(deadline) {
			return problem
		}
		time.Sleep(PollInterval)
	}
}

// WaitTrue is Wait for a condition that carries no description; it reports
// whether cond held within timeout.
func WaitTrue(timeout time.Duration, cond func() bool) bool {
	return Wait(timeout, func() string {
		if cond() {
			return ""
		}
		return "not yet"
	}) == ""
}

// Eventually waits like Wait and fails the test with cond's last problem when
// timeout passes, so a test states the awaited state once, in cond.
func Eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	if problem := Wait(timeout, cond); problem != "" {
		t.Fatalf("after %s: %s", timeout, problem)
	}
}

// Unless is the answer of a condition for Wait and Eventually: "" when ok,
// else what is awaited and the state last seen.
func Unless(ok bool, what, state string) string {
	if ok {
		return ""
	}
	return what + "; last state: " + state
}
