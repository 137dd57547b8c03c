package tenantapp

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Condition reasons of TenantApp; they are also the reasons of the Events
// recorded when a condition changes.
const (
	// ReasonSynced: the tables hold the endpoint's users and groups.
	ReasonSynced = "Synced"
	// ReasonConnected: the database answered the last pass.
	ReasonConnected = "Connected"
	// ReasonDatabaseUnreachable: the database does not answer; projection is
	// delayed and retried with backoff.
	ReasonDatabaseUnreachable = "DatabaseUnreachable"
	// ReasonConnectionSecretInvalid: the connection Secret or its key is
	// missing, or the DSN cannot be parsed.
	ReasonConnectionSecretInvalid = "ConnectionSecretInvalid"
	// ReasonSchemaTooNew: a newer operator migrated the tables; this one
	// refuses to write them.
	ReasonSchemaTooNew = "SchemaTooNew"
	// ReasonSyncFailed: the database answers but refused a write.
	ReasonSyncFailed = "SyncFailed"
	// ReasonEndpointNotFound: spec.endpoint names no ScimEndpoint; nothing
	// is written and the tables keep what they hold.
	ReasonEndpointNotFound = "EndpointNotFound"
	// ReasonEndpointNotAllowed: the endpoint is in another namespace and
	// its spec.allowedNamespaces does not allow the TenantApp's; the
	// database is not opened, nothing is written and the tables keep what
	// they hold.
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
	// ReasonScopeGroupNotFound: a spec.scope.groups name has no pin and
	// matches no group; nothing is written and the tables keep what they hold.
	ReasonScopeGroupNotFound = "ScopeGroupNotFound"
)

// outcome is what one pass found; applyStatus turns it into status.
type outcome struct {
	// skipped: the pass waited out a backoff and learnt nothing new.
	skipped bool
	// secretProblem is a message about the connection Secret (never the DSN).
	secretProblem string
	// secretReason is the reason of secretProblem; "" is
	// ReasonConnectionSecretInvalid.
	secretReason string
	// unreachable: a database call failed and so did a ping.
	unreachable bool
	// tooNew and syncFailed: the database answered but the pass failed.
	tooNew, syncFailed bool
	retryIn            time.Duration
	// err is the raw error of a failed pass, for the Event only.
	err error
	// pendingUsers could not be given their finalizer yet; a pass follows soon.
	pendingUsers int
	// Set when the pass succeeded.
	synced                 bool
	users, groups, members int
	schemaVersion          int
	fullSyncAt             time.Time
	// scope is the resolved scope (nil: the pass did not get that far).
	scope *scope
	// endpointMissing: spec.endpoint names no ScimEndpoint.
	endpointMissing bool
	// endpointNotAllowed: the endpoint does not allow the TenantApp's
	// namespace; the database was not opened.
	endpointNotAllowed bool
}

// blocked reports whether the pass could not tell what the tables should
// hold and so wrote nothing.
func (o outcome) blocked() bool {
	return o.endpointMissing || (o.scope != nil && len(o.scope.missing) > 0)
}

// secretReasonOrDefault is the condition reason of o.secretProblem.
func (o outcome) secretReasonOrDefault() string {
	if o.secretReason != "" {
		return o.secretReason
	}
	return ReasonConnectionSecretInvalid
}

// readyCondition is Ready for o.
func readyCondition(gen int64, o outcome) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: gen}
	switch {
	case o.endpointNotAllowed:
		c.Reason = ReasonEndpointNotAllowed
		c.Message = "the ScimEndpoint does not allow this namespace in its spec.allowedNamespaces; nothing is projected and the tables keep their rows"
	case o.secretProblem != "":
		c.Reason, c.Message = o.secretReasonOrDefault(), o.secretProblem
	case o.unreachable:
		c.Reason = ReasonDatabaseUnreachable
		c.Message = fmt.Sprintf("the tenant database does not answer; projection is delayed, next attempt in %s", o.retryIn.Round(time.Second))
	case o.tooNew:
		c.Reason = ReasonSchemaTooNew
		c.Message = "the tables were migrated by a newer operator; upgrade this one"
	case o.syncFailed:
		c.Reason = ReasonSyncFailed
		c.Message = fmt.Sprintf("the tenant database refused a write; see the TenantApp's events; next attempt in %s", o.retryIn.Round(time.Second))
	case o.endpointMissing:
		c.Reason = ReasonEndpointNotFound
		c.Message = "spec.endpoint names no ScimEndpoint (in spec.endpointNamespace, or else this namespace); nothing is projected and the tables keep their rows"
	case o.scope != nil && len(o.scope.missing) > 0:
		c.Reason = ReasonScopeGroupNotFound
		c.Message = fmt.Sprintf("scope group(s) %s match no group of the endpoint; nothing is projected and the tables keep their rows",
			strings.Join(o.scope.missing, ", "))
	default:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSynced
		c.Message = fmt.Sprintf("%d users, %d groups and %d memberships projected", o.users, o.groups, o.members)
		if o.scope != nil && len(o.scope.gone) > 0 {
			c.Message += fmt.Sprintf("; pinned scope group(s) deleted, no members: %s", strings.Join(o.scope.gone, ", "))
		}
	}
	return c
}

// reachableCondition is DatabaseReachable for o: Unknown while no connection
// can even be attempted.
func reachableCondition(gen int64, o outcome) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionDatabaseReachable, ObservedGeneration: gen}
	switch {
	case o.endpointNotAllowed:
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, ReasonEndpointNotAllowed, "not connected: the endpoint does not allow this namespace"
	case o.secretProblem != "":
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, o.secretReasonOrDefault(), "no usable connection string"
	case o.unreachable:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonDatabaseUnreachable
		c.Message = "the tenant database does not answer"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, ReasonConnected, "the tenant database answers"
	}
	return c
}

// applyStatus writes o into app's status at now and returns the conditions
// that changed status, for Events. A skipped pass changes nothing.
func applyStatus(app *scimv1.TenantApp, o outcome, now time.Time) []metav1.Condition {
	if o.skipped {
		return nil
	}
	st := &app.Status
	if o.scope != nil {
		st.ScopeGroups = o.scope.pins
	}
	if o.synced {
		st.ObservedGeneration = app.Generation
		st.SyncedUsers, st.SyncedGroups = int32(o.users), int32(o.groups)
		st.SchemaVersion = int32(o.schemaVersion)
		if !o.fullSyncAt.IsZero() {
			st.LastFullSyncTime = &metav1.Time{Time: o.fullSyncAt.UTC().Truncate(time.Second)}
		}
	}
	var changed []metav1.Condition
	for _, c := range []metav1.Condition{reachableCondition(app.Generation, o), readyCondition(app.Generation, o)} {
		var was metav1.ConditionStatus
		if old := meta.FindStatusCondition(st.Conditions, c.Type); old != nil {
			was = old.Status
		}
		c.LastTransitionTime = metav1.NewTime(now)
		meta.SetStatusCondition(&st.Conditions, c)
		if was != c.Status {
			changed = append(changed, c)
		}
	}
	return changed
}
