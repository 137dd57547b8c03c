package tenantapp

import (
	"fmt"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// benchInputs is an endpoint of 10,000 users in 100 groups of 500, spread
// over 32 shards each, as the SCIM server stores them.
func benchInputs() inputs {
	var in inputs
	for g := range 100 {
		in.groups = append(in.groups, group(fmt.Sprintf("g%03d", g), fmt.Sprintf("Team %d", g)))
	}
	shards := map[[2]int]*scimv1.ScimMembership{}
	for u := range 10000 {
		id := fmt.Sprintf("user-%05d", u)
		in.users = append(in.users, user(id, true, func(u *scimv1.ScimUser) {
			u.Spec.Name = &scimv1.Name{GivenName: "Given", FamilyName: "Family"}
			u.Spec.Emails = []scimv1.MultiValuedAttribute{{Value: id + "@example.com", Primary: true}}
		}))
		for k := range 5 {
			key := [2]int{(u + k*17) % 100, u % 32}
			if shards[key] == nil {
				shards[key] = shard(fmt.Sprintf("g%03d", key[0]))
				shards[key].Spec.Shard = int32(key[1])
				in.shards = append(in.shards, shards[key])
			}
			shards[key].Spec.Members = append(shards[key].Spec.Members, member(id))
		}
	}
	return in
}

// BenchmarkIncrementalPlan measures the in-memory part of an incremental
// pass over a 10,000-user endpoint: desired rows and their diff.
func BenchmarkIncrementalPlan(b *testing.B) {
	in := benchInputs()
	a := app("")
	have := desiredRows(a, in, resolveScope(a, in.groups, nil), nil)
	b.ResetTimer()
	for b.Loop() {
		want := desiredRows(a, in, resolveScope(a, in.groups, nil), nil)
		if p := diffRows(have, want, nil, nil); !p.empty() {
			b.Fatal("unexpected changes")
		}
	}
}
