package endpoint

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// problemText is how the Ready condition explains a token problem.
var problemText = map[string]string{
	scimstore.TokenNotOptedIn: "does not exist or its Secret is not labelled " + scimv1.LabelTokenSecret + "=true",
	scimstore.TokenWhitespace: "holds whitespace inside the token",
	scimstore.TokenTooWeak:    "holds a token of under 128 bits of entropy (use e.g. openssl rand -hex 32)",
}

// readyCondition is Ready=True when at least one referenced token resolves;
// it names every referenced key that gives no token and why.
func readyCondition(ep *scimv1.ScimEndpoint, problems []scimstore.TokenProblem) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, ObservedGeneration: ep.Generation}
	if _, err := ep.Spec.UserNameRegexp(); err != nil {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonInvalidUserNamePattern
		c.Message = "spec.userNamePattern is not a valid RE2 regular expression; every user create is refused until it is fixed"
		return c
	}
	var why []string
	for _, p := range problems {
		why = append(why, fmt.Sprintf("%s %s", p.Ref, problemText[p.Reason]))
	}
	if ep.Status.ValidTokens == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonNoValidTokens
		c.Message = fmt.Sprintf("none of the %d referenced Secret keys gives a token: %s",
			len(ep.Spec.TokenSecretRefs), strings.Join(why, "; "))
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, ReasonServing
	c.Message = fmt.Sprintf("serving at %s with %d valid token(s)", ep.Status.Path, ep.Status.ValidTokens)
	if len(why) > 0 {
		c.Message += "; ignored: " + strings.Join(why, "; ")
	}
	return c
}
