package tenantdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// benchState is a tenant of 10,000 users in 100 groups, each user in 5 of
// them: 50,000 memberships.
func benchState() tenantdb.State {
	const users, groups, perUser = 10000, 100, 5
	st := tenantdb.State{Members: map[string][]string{}}
	for g := range groups {
		st.Groups = append(st.Groups, tenantdb.Group{ID: fmt.Sprintf("group-%03d", g), DisplayName: fmt.Sprintf("Team %d", g), Version: 1})
	}
	for u := range users {
		id := fmt.Sprintf("9c0f8d2e-%08d", u)
		st.Users = append(st.Users, tenantdb.User{
			ID: id, ExternalID: fmt.Sprintf("00u%08d", u), UserName: fmt.Sprintf("user%d@example.com", u),
			DisplayName: fmt.Sprintf("User %d", u), GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", u),
			Email: fmt.Sprintf("user%d@example.com", u), Active: true, Version: 1,
		})
		for k := range perUser {
			g := st.Groups[(u+k*17)%groups].ID
			st.Members[g] = append(st.Members[g], id)
		}
	}
	return st
}

// BenchmarkFullSync measures a first full sync into an empty schema, the
// worst case of a periodic resync, and reports rows written per second.
func BenchmarkFullSync(b *testing.B) {
	ctx := context.Background()
	st := benchState()
	rows := len(st.Users) + len(st.Groups)
	for _, m := range st.Members {
		rows += len(m)
	}
	dsn := pgtest.NewDatabase(b, server)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newPostgres(b, tenantdb.Config{DSN: dsn, Schema: uniqueSchema("bench"), Timeout: 5 * time.Minute})
		b.StartTimer()
		began := time.Now()
		res, err := c.FullSync(ctx, st)
		elapsed += time.Since(began)
		if err != nil {
			b.Fatal(err)
		}
		if res.UsersUpserted+res.GroupsUpserted+res.Members.Added != rows {
			b.Fatalf("FullSync wrote %+v, want %d rows", res, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
}
