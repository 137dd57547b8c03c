package faults

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// hostileCase is one request of the corpus and the outcome decided for its
// class.
type hostileCase struct {
	class, name string
	req         rawRequest
	want        outcome
}

// outcome is what a hostile request must get.
//
// A refusal (4xx) must carry a SCIM Error body (schemas, status as a string)
// and leave the stored state exactly as it was. A few classes are answered by
// net/http itself, before any SCIM code runs (malformed framing or request
// lines): those are marked plain and only their status is checked.
//
// A 2xx is expected only for requests RFC 7643/7644 or a documented lenient
// rule makes acceptable (a read-only id that is ignored, a number where a
// string belongs); effect then verifies what the request changed is harmless.
type outcome struct {
	status   int
	scimType string // required scimType of the Error when set; "a|b" allows either
	plain    bool
	effect   func(r reply, d delta) string // required for a 2xx; "" means harmless
}

// refuse is the outcome of a request that must fail with status.
func refuse(status int, scimType string) outcome { return outcome{status: status, scimType: scimType} }

// plainRefusal is a refusal net/http sends before the SCIM handler runs.
func plainRefusal(status int) outcome { return outcome{status: status, plain: true} }

// accept is the outcome of a request that must succeed with status and whose
// effect must pass check.
func accept(status int, check func(r reply, d delta) string) outcome {
	return outcome{status: status, effect: check}
}

// judge returns what is wrong with the response r and the state change d.
func (o outcome) judge(r reply, d delta, bodyless bool) []string {
	var problems []string
	if r.Status != o.status {
		problems = append(problems, fmt.Sprintf("status %d, want %d: %s", r.Status, o.status, snippet(r.Body)))
	}
	if r.Status >= 500 && !(o.plain && r.Status == o.status) {
		problems = append(problems, "server error")
	}
	if o.effect != nil {
		if p := o.effect(r, d); p != "" {
			problems = append(problems, p)
		}
		return problems
	}
	if !d.empty() {
		problems = append(problems, "stored state changed: "+d.String())
	}
	if o.plain || bodyless || r.Status < 400 {
		return problems
	}
	if p := scimErrorProblem(r); p != "" {
		problems = append(problems, "not a SCIM Error: "+p+": "+snippet(r.Body))
	}
	if r.Status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
		problems = append(problems, "401 without WWW-Authenticate")
	}
	if o.scimType != "" && !slices.Contains(strings.Split(o.scimType, "|"), scimType(r)) {
		problems = append(problems, fmt.Sprintf("scimType %q, want %q", scimType(r), o.scimType))
	}
	return problems
}

// TestHostileInput sends the corpus (over 1,000 malformed or adversarial
// requests) to a running operator, one request per connection, and after
// each one compares the stored ScimUsers, ScimGroups, ScimMemberships and
// ScimClaims of every endpoint (read from the API server) with their state
// before it. See the corpus_*_test.go files for the classes and the outcome
// decided for each.
func TestHostileInput(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	w := seedWorld(t, op)
	cases := w.corpus()
	byClass := map[string]int{}
	for _, c := range cases {
		byClass[c.class]++
		if c.want.status < 300 && c.want.effect == nil {
			t.Fatalf("corpus bug: %s/%s expects %d without checking its effect", c.class, c.name, c.want.status)
		}
	}
	hostile := len(cases) - byClass["control"]
	t.Logf("corpus: %d hostile requests (+%d controls) in %d classes", hostile, byClass["control"], len(byClass)-1)
	for _, class := range slices.Sorted(maps.Keys(byClass)) {
		t.Logf("  %-22s %4d", class, byClass[class])
	}
	if hostile < 1000 {
		t.Fatalf("the corpus holds %d hostile requests, want at least 1000", hostile)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before, err := takeSnapshot(ctx, op.Client, w.namespaces()...)
	if err != nil {
		t.Fatal(err)
	}
	failures := 0
	for i, c := range cases {
		r, err := exchange(op.Addr, c.req)
		after, serr := takeSnapshot(ctx, op.Client, w.namespaces()...)
		if serr != nil {
			t.Fatalf("case %d %s/%s: %v", i, c.class, c.name, serr)
		}
		var problems []string
		if err != nil {
			problems = []string{"no response: " + err.Error()}
		} else {
			problems = c.want.judge(r, diff(before, after), c.req.bodyless)
		}
		before = after
		if len(problems) == 0 {
			continue
		}
		failures++
		t.Errorf("case %d %s/%s (%s %.120s): %s", i, c.class, c.name, c.req.method, c.req.target, strings.Join(problems, "; "))
		if failures >= 60 {
			t.Fatalf("stopping after %d failed cases", failures)
		}
	}

	// The server still serves, and the seeded resources read back intact.
	for _, handle := range []string{"a/alice", "a/bob", "a/kris"} {
		r, err := exchange(op.Addr, call(w.a, http.MethodGet, "/Users/"+w.id(handle), nil))
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("GET %s after the corpus: %v %d %s", handle, err, r.Status, snippet(r.Body))
		}
	}
}
