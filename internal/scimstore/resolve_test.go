package scimstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/kube"
)

// resolveStore returns a Store whose cache holds cached and whose API server
// holds cached and live, and the counter of its reads past the cache.
func resolveStore(t *testing.T, cached, live []client.Object) (*Store, *kube.CountingReader) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := scimv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	member := func(o client.Object) []string {
		var out []string
		for _, m := range o.(*scimv1.ScimMembership).Spec.Members {
			out = append(out, m.Value)
		}
		return out
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cached...).
		WithIndex(&scimv1.ScimMembership{}, IndexMembershipMember, member).Build()
	api := &kube.CountingReader{Reader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(live, cached...)...).Build()}
	return New(c, api, nil, Options{MaxMembersPerRequest: DefaultMaxMembersPerRequest}), api
}

var testEP = endpointRef{Namespace: "ns", Name: "idp"}

func testUser(id string) *scimv1.ScimUser {
	return &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: id},
		Spec: scimv1.ScimUserSpec{Endpoint: "idp", UserName: id}}
}

func testGroup(id string) *scimv1.ScimGroup {
	return &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: id},
		Spec: scimv1.ScimGroupSpec{Endpoint: "idp", DisplayName: id}}
}

func repeat(id string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = id
	}
	return out
}

func TestMemberKindsCost(t *testing.T) {
	var lagging []client.Object // users the cache has not seen yet
	var laggingIDs []string
	for i := range 150 {
		id := fmt.Sprintf("new-user-%03d", i)
		lagging = append(lagging, testUser(id))
		laggingIDs = append(laggingIDs, id)
	}
	cached := []client.Object{testUser("ada"), testGroup("admins"), testGroup("target"),
		&scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "elsewhere"},
			Spec: scimv1.ScimGroupSpec{Endpoint: "other", DisplayName: "elsewhere"}}}
	for _, tc := range []struct {
		reason     string
		ids        []string
		wantReason error // nil: resolved
		wantReads  int64
	}{
		{reason: "a group named 5,000 times is read from the cache once", ids: repeat("admins", 5_000), wantReads: 0},
		{reason: "a user and a group, each named 1,000 times", ids: append(repeat("ada", 1_000), repeat("admins", 1_000)...), wantReads: 0},
		{reason: "a user the cache lags on, named 1,000 times, is read live once", ids: repeat("new-user-000", 1_000), wantReads: 1},
		{reason: "an unknown id is refused after reading it as a user and as a group", ids: append(repeat("nobody", 1_000), "ada"),
			wantReason: ErrInvalidMember, wantReads: 2},
		{reason: "another endpoint's group is refused from the cache", ids: []string{"elsewhere"},
			wantReason: ErrInvalidMember, wantReads: 0},
		{reason: "more ids the cache lags on than live reads allowed are refused with 503", ids: laggingIDs,
			wantReason: ErrNotYetKnown, wantReads: maxLiveMemberReads},
		{reason: "more ids than a request may name are refused before any lookup", ids: repeat("ada", DefaultMaxMembersPerRequest+1),
			wantReason: ErrTooManyMembers, wantReads: 0},
		{reason: "the group itself", ids: []string{"ada", "target"}, wantReason: ErrInvalidMember},
	} {
		s, api := resolveStore(t, cached, lagging)
		kinds, err := s.MemberKinds(context.Background(), testEP, "target", []MemberChange{{Kind: MemberAdd, IDs: tc.ids}})
		if got := api.Reads(); got != tc.wantReads {
			t.Errorf("%s: %d reads past the cache, want %d", tc.reason, got, tc.wantReads)
		}
		if tc.wantReason == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.reason, err)
			}
			for _, id := range tc.ids {
				if kinds[id] == "" {
					t.Errorf("%s: %s unresolved", tc.reason, id)
				}
			}
			continue
		}
		if se := (*Error)(nil); !errors.As(err, &se) || !errors.Is(err, tc.wantReason) {
			t.Errorf("%s: error %v, want a refusal for %v", tc.reason, err, tc.wantReason)
		}
	}
}

func TestMemberKindsStopsWithTheContext(t *testing.T) {
	s, _ := resolveStore(t, []client.Object{testUser("ada")}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.MemberKinds(ctx, testEP, "target", []MemberChange{{Kind: MemberAdd, IDs: repeat("ada", 1_000)}}); err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// shard is a membership shard of group holding members.
func shard(group string, members ...string) *scimv1.ScimMembership {
	sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: group + "-0",
		Labels: map[string]string{scimv1.LabelEndpoint: "idp"}}, Spec: scimv1.ScimMembershipSpec{Group: group}}
	for _, m := range members {
		sh.Spec.Members = append(sh.Spec.Members, scimv1.Member{Value: m, Type: "Group"})
	}
	return sh
}

func TestMemberKindsRefusesCycles(t *testing.T) {
	// a contains b, b contains c; d stands alone.
	cached := []client.Object{testGroup("a"), testGroup("b"), testGroup("c"), testGroup("d"), testUser("ada"),
		shard("a", "b"), shard("b", "c")}
	for _, tc := range []struct {
		reason, group, member string
		refused               bool
	}{
		{"a direct cycle: a into b, its member", "b", "a", true},
		{"a deeper cycle: a into c, which a contains through b", "c", "a", true},
		{"b into c, which b contains", "c", "b", true},
		{"an unrelated group", "c", "d", false},
		{"a group into one it already contains indirectly is no cycle", "a", "c", false},
		{"a user", "c", "ada", false},
	} {
		s, _ := resolveStore(t, cached, nil)
		_, err := s.MemberKinds(context.Background(), testEP, tc.group, []MemberChange{{Kind: MemberAdd, IDs: []string{tc.member}}})
		switch {
		case tc.refused && !errors.Is(err, ErrInvalidMember):
			t.Errorf("%s: error %v, want ErrInvalidMember", tc.reason, err)
		case !tc.refused && err != nil:
			t.Errorf("%s: %v", tc.reason, err)
		}
	}
}
