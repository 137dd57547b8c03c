package endpoint

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// observed is what the reconciler gathered for one endpoint: the status is a
// function of it and of the endpoint alone.
type observed struct {
	// ValidTokens is the number of referenced Secret keys that give a token.
	ValidTokens int
	// Problems says why each other referenced key gives none.
	Problems []scimstore.TokenProblem
	// Users and Groups are the endpoint's ScimUsers and ScimGroups.
	Users, Groups int
	// Now stamps a Ready condition whose status changes.
	Now time.Time
}

// endpointStatus returns ep's status computed from in, keeping what other
// writers own (the deprovisioning guard's ledger and condition). changed
// reports whether the Ready condition changed, which is when an Event is due.
func endpointStatus(ep *scimv1.ScimEndpoint, in observed) (status scimv1.ScimEndpointStatus, changed bool) {
	status = *ep.Status.DeepCopy()
	status.Path = ep.SCIMPath()
	status.Users = int32(in.Users)
	status.Groups = int32(in.Groups)
	status.ValidTokens = int32(in.ValidTokens)
	status.ObservedGeneration = ep.Generation
	changed = meta.SetStatusCondition(&status.Conditions, readyCondition(ep, in))
	return status, changed
}

// problemText is how the Ready condition explains a token problem.
var problemText = map[string]string{
	scimstore.TokenNotOptedIn: "does not exist or its Secret is not labelled " + scimv1.LabelTokenSecret + "=true",
	scimstore.TokenWhitespace: "holds whitespace inside the token",
	scimstore.TokenTooWeak:    "holds a token of under 128 bits of entropy (use e.g. openssl rand -hex 32)",
}

// readyCondition is Ready=True when at least one referenced token resolves;
// it names every referenced key that gives no token and why.
func readyCondition(ep *scimv1.ScimEndpoint, in observed) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, ObservedGeneration: ep.Generation,
		LastTransitionTime: metav1.NewTime(in.Now)}
	if _, err := ep.Spec.UserNameRegexp(); err != nil {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonInvalidUserNamePattern
		c.Message = "spec.userNamePattern is not a valid RE2 regular expression; every user create is refused until it is fixed"
		return c
	}
	var why []string
	for _, p := range in.Problems {
		why = append(why, fmt.Sprintf("%s %s", p.Ref, problemText[p.Reason]))
	}
	if in.ValidTokens == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonNoValidTokens
		c.Message = fmt.Sprintf("none of the %d referenced Secret keys gives a token: %s",
			len(ep.Spec.TokenSecretRefs), strings.Join(why, "; "))
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, ReasonServing
	c.Message = fmt.Sprintf("serving at %s with %d valid token(s)", ep.SCIMPath(), in.ValidTokens)
	if len(why) > 0 {
		c.Message += "; ignored: " + strings.Join(why, "; ")
	}
	return c
}
