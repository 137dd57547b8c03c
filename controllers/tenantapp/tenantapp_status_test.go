package tenantapp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func TestApplyStatus(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	synced := outcome{synced: true, users: 3, groups: 1, members: 2, schemaVersion: 1, fullSyncAt: now}
	type conds struct{ ready, reachable, readyReason, reachableReason string }
	cases := []struct {
		reason      string
		prior       []metav1.Condition
		o           outcome
		want        conds
		wantChanged []string
	}{
		{
			reason:      "a successful pass is Ready and reachable, both new conditions are transitions",
			o:           synced,
			want:        conds{"True", "True", ReasonSynced, ReasonConnected},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason: "an endpoint that does not allow the namespace: not Ready, reachability unknown (never connected)",
			prior: []metav1.Condition{{Type: scimv1.ConditionReady, Status: "True", Reason: ReasonSynced},
				{Type: scimv1.ConditionDatabaseReachable, Status: "True", Reason: ReasonConnected}},
			o:           outcome{endpointNotAllowed: true},
			want:        conds{"False", "Unknown", ReasonEndpointNotAllowed, ReasonEndpointNotAllowed},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason: "an unreachable database turns both False, a transition for each",
			prior: []metav1.Condition{{Type: scimv1.ConditionReady, Status: "True", Reason: ReasonSynced},
				{Type: scimv1.ConditionDatabaseReachable, Status: "True", Reason: ReasonConnected}},
			o:           outcome{unreachable: true, retryIn: 4 * time.Second, err: errors.New("dial tcp: refused")},
			want:        conds{"False", "False", ReasonDatabaseUnreachable, ReasonDatabaseUnreachable},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason: "a refused write keeps the database reachable",
			prior: []metav1.Condition{{Type: scimv1.ConditionReady, Status: "True", Reason: ReasonSynced},
				{Type: scimv1.ConditionDatabaseReachable, Status: "True", Reason: ReasonConnected}},
			o:           outcome{syncFailed: true, retryIn: time.Second},
			want:        conds{"False", "True", ReasonSyncFailed, ReasonConnected},
			wantChanged: []string{scimv1.ConditionReady},
		},
		{
			reason:      "a missing Secret leaves reachability Unknown",
			o:           outcome{secretProblem: "Secret db not found"},
			want:        conds{"False", "Unknown", ReasonConnectionSecretInvalid, ReasonConnectionSecretInvalid},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason: "a missing endpoint is not Ready, the database still answers",
			prior: []metav1.Condition{{Type: scimv1.ConditionReady, Status: "True", Reason: ReasonSynced},
				{Type: scimv1.ConditionDatabaseReachable, Status: "True", Reason: ReasonConnected}},
			o:           outcome{endpointMissing: true, scope: &scope{all: true}},
			want:        conds{"False", "True", ReasonEndpointNotFound, ReasonConnected},
			wantChanged: []string{scimv1.ConditionReady},
		},
		{
			reason:      "a scope name that resolves to no group is not Ready",
			o:           outcome{scope: &scope{missing: []string{"Ghosts"}}},
			want:        conds{"False", "True", ReasonScopeGroupNotFound, ReasonConnected},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason:      "a schema migrated by a newer operator is not Ready",
			o:           outcome{tooNew: true},
			want:        conds{"False", "True", ReasonSchemaTooNew, ReasonConnected},
			wantChanged: []string{scimv1.ConditionDatabaseReachable, scimv1.ConditionReady},
		},
		{
			reason: "a pass that waited out a backoff changes nothing",
			prior: []metav1.Condition{{Type: scimv1.ConditionReady, Status: "False", Reason: ReasonDatabaseUnreachable},
				{Type: scimv1.ConditionDatabaseReachable, Status: "False", Reason: ReasonDatabaseUnreachable}},
			o:    outcome{skipped: true},
			want: conds{"False", "False", ReasonDatabaseUnreachable, ReasonDatabaseUnreachable},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			a := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Generation: 7}}
			a.Status.Conditions = tc.prior
			var changed []string
			for _, c := range applyStatus(a, tc.o, now) {
				changed = append(changed, c.Type)
			}
			ready := meta.FindStatusCondition(a.Status.Conditions, scimv1.ConditionReady)
			reachable := meta.FindStatusCondition(a.Status.Conditions, scimv1.ConditionDatabaseReachable)
			got := conds{string(ready.Status), string(reachable.Status), ready.Reason, reachable.Reason}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(conds{})); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantChanged, changed); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
			if tc.o.err != nil && (strings.Contains(ready.Message, "refused") || strings.Contains(reachable.Message, "refused")) {
				t.Errorf("a raw error leaked into a condition message: %q / %q", ready.Message, reachable.Message)
			}
		})
	}
}

func TestApplyStatusRecordsCountsOnlyWhenSynced(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	a := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
	applyStatus(a, outcome{synced: true, users: 10, groups: 2, schemaVersion: 1, fullSyncAt: now}, now)
	applyStatus(a, outcome{unreachable: true}, now.Add(time.Minute))
	want := scimv1.TenantAppStatus{ObservedGeneration: 2, SyncedUsers: 10, SyncedGroups: 2, SchemaVersion: 1,
		LastFullSyncTime: &metav1.Time{Time: now}}
	a.Status.Conditions = nil
	if diff := cmp.Diff(want, a.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}
