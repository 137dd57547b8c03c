package endpoint

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

func TestReadyCondition(t *testing.T) {
	refs := []scimv1.SecretKeyReference{{Name: "a", Key: "token"}, {Name: "b", Key: "token"}}
	for _, tc := range []struct {
		reason   string
		pattern  string
		valid    int32
		problems []scimstore.TokenProblem
		status   metav1.ConditionStatus
		cause    string
		mentions []string
	}{
		{"a valid token serves", "", 1, nil, metav1.ConditionTrue, ReasonServing, []string{"1 valid token"}},
		{"no token says why for each key", "", 0,
			[]scimstore.TokenProblem{{Ref: "a/token", Reason: scimstore.TokenNotOptedIn}, {Ref: "b/token", Reason: scimstore.TokenTooWeak}},
			metav1.ConditionFalse, ReasonNoValidTokens, []string{"a/token does not exist or its Secret is not labelled", "b/token holds a token of under 128 bits"}},
		{"an ignored key is named while serving", "", 1,
			[]scimstore.TokenProblem{{Ref: "b/token", Reason: scimstore.TokenWhitespace}},
			metav1.ConditionTrue, ReasonServing, []string{"ignored: b/token holds whitespace"}},
		{"an invalid userNamePattern is not ready", "(", 1, nil, metav1.ConditionFalse, ReasonInvalidUserNamePattern, []string{"userNamePattern"}},
	} {
		ep := &scimv1.ScimEndpoint{Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: refs, UserNamePattern: tc.pattern},
			Status: scimv1.ScimEndpointStatus{ValidTokens: tc.valid}}
		c := readyCondition(ep, tc.problems)
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
