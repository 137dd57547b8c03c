package endpoint

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

func TestReadyCondition(t *testing.T) {
	refs := []scimv1.SecretKeyReference{{Name: "a", Key: "token"}, {Name: "b", Key: "token"}}
	for _, tc := range []struct {
		reason   string
		pattern  string
		valid    int
		problems []scimstore.TokenProblem
		status   metav1.ConditionStatus
		cause    string
		mentions []string
	}{
		{"a valid token serves", "", 1, nil, metav1.ConditionTrue, ReasonServing, []string{"serving at /scim/v2/ns/ep with 1 valid token"}},
		{"no token says why for each key", "", 0,
			[]scimstore.TokenProblem{{Ref: "a/token", Reason: scimstore.TokenNotOptedIn}, {Ref: "b/token", Reason: scimstore.TokenTooWeak}},
			metav1.ConditionFalse, ReasonNoValidTokens, []string{"a/token does not exist or its Secret is not labelled", "b/token holds a token of under 128 bits"}},
		{"an ignored key is named while serving", "", 1,
			[]scimstore.TokenProblem{{Ref: "b/token", Reason: scimstore.TokenWhitespace}},
			metav1.ConditionTrue, ReasonServing, []string{"ignored: b/token holds whitespace"}},
		{"an invalid userNamePattern is not ready", "(", 1, nil, metav1.ConditionFalse, ReasonInvalidUserNamePattern, []string{"userNamePattern"}},
	} {
		ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ep"},
			Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: refs, UserNamePattern: tc.pattern}}
		c := readyCondition(ep, observed{ValidTokens: tc.valid, Problems: tc.problems})
		if c.Status != tc.status || c.Reason != tc.cause {
			t.Errorf("%s: %s/%s, want %s/%s (%s)", tc.reason, c.Status, c.Reason, tc.status, tc.cause, c.Message)
		}
		for _, m := range tc.mentions {
			if !strings.Contains(c.Message, m) {
				t.Errorf("%s: message %q does not mention %q", tc.reason, c.Message, m)
			}
		}
	}
}

func TestEndpointStatus(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	held := metav1.Condition{Type: scimv1.ConditionDeprovisioningHeld, Status: metav1.ConditionTrue,
		Reason: "RevocationsHeld", Message: "held", LastTransitionTime: earlier}
	ledger := scimv1.DeprovisioningStatus{Revoked: 3, Allowed: 10, Projections: []scimv1.ProjectionRevocations{{Name: "p", Pending: 4}}}
	serving := func(msg string, at metav1.Time, gen int64) metav1.Condition {
		return metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonServing,
			Message: msg, LastTransitionTime: at, ObservedGeneration: gen}
	}
	for _, tc := range []struct {
		reason  string
		before  scimv1.ScimEndpointStatus
		in      observed
		want    scimv1.ScimEndpointStatus
		changed bool
	}{
		{
			reason: "a first pass sets the path, the counts, the generation and Ready",
			in:     observed{ValidTokens: 2, Users: 5, Groups: 1, Now: now},
			want: scimv1.ScimEndpointStatus{Path: "/scim/v2/ns/ep", Users: 5, Groups: 1, ValidTokens: 2, ObservedGeneration: 3,
				Conditions: []metav1.Condition{serving("serving at /scim/v2/ns/ep with 2 valid token(s)", metav1.NewTime(now), 3)}},
			changed: true,
		},
		{
			reason: "the guard's ledger and condition are kept; an unchanged Ready keeps its transition time",
			before: scimv1.ScimEndpointStatus{Path: "/scim/v2/ns/ep", Users: 9, ValidTokens: 1, ObservedGeneration: 3, Deprovisioning: ledger,
				Conditions: []metav1.Condition{held, serving("serving at /scim/v2/ns/ep with 1 valid token(s)", earlier, 3)}},
			in: observed{ValidTokens: 1, Users: 2, Groups: 4, Now: now},
			want: scimv1.ScimEndpointStatus{Path: "/scim/v2/ns/ep", Users: 2, Groups: 4, ValidTokens: 1, ObservedGeneration: 3, Deprovisioning: ledger,
				Conditions: []metav1.Condition{held, serving("serving at /scim/v2/ns/ep with 1 valid token(s)", earlier, 3)}},
		},
		{
			reason: "losing every token turns Ready False at the time given",
			before: scimv1.ScimEndpointStatus{Path: "/scim/v2/ns/ep", ValidTokens: 1, ObservedGeneration: 2,
				Conditions: []metav1.Condition{serving("serving at /scim/v2/ns/ep with 1 valid token(s)", earlier, 2)}},
			in: observed{Problems: []scimstore.TokenProblem{{Ref: "a/token", Reason: scimstore.TokenTooWeak}}, Now: now},
			want: scimv1.ScimEndpointStatus{Path: "/scim/v2/ns/ep", ObservedGeneration: 3,
				Conditions: []metav1.Condition{{Type: scimv1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonNoValidTokens,
					Message:            "none of the 1 referenced Secret keys gives a token: a/token " + problemText[scimstore.TokenTooWeak],
					LastTransitionTime: metav1.NewTime(now), ObservedGeneration: 3}}},
			changed: true,
		},
	} {
		ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ep", Generation: 3},
			Spec:   scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "a", Key: "token"}}},
			Status: *tc.before.DeepCopy()}
		got, changed := endpointStatus(ep, tc.in)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: status (-want +got):\n%s", tc.reason, diff)
		}
		if changed != tc.changed {
			t.Errorf("%s: Ready changed = %v, want %v", tc.reason, changed, tc.changed)
		}
		if diff := cmp.Diff(tc.before, ep.Status); diff != "" {
			t.Errorf("%s: the endpoint passed in was modified (-before +after):\n%s", tc.reason, diff)
		}
		if meta.FindStatusCondition(got.Conditions, scimv1.ConditionReady) == nil {
			t.Errorf("%s: no Ready condition", tc.reason)
		}
	}
}
