package scimstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// sameBucket returns n values of format (one %d) that fall into one bucket
// of the userName and externalId indexes.
func sameBucket(t *testing.T, format string, n int) []string {
	t.Helper()
	seen := map[string][]string{}
	for i := 0; i < 1<<20; i++ {
		v := fmt.Sprintf(format, i)
		b := scimstore.BucketOf(strings.ToLower(v))
		if seen[b] = append(seen[b], v); len(seen[b]) == n {
			return seen[b]
		}
	}
	t.Fatalf("no %d values of %q share a bucket", n, format)
	return nil
}

// TestLookupsInASharedBucket: users whose userNames, and users whose
// externalIds, share a bucket of the index are told apart by lookups, a
// userName differing only in case is still refused, and a user renamed out
// of the value is found under it no more.
func TestLookupsInASharedBucket(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	names := sameBucket(t, "user-%d@example.com", 3)
	externals := sameBucket(t, "00u%d", 3)
	users := make([]*scimv1.ScimUser, len(names))
	for i, name := range names {
		u, err := store.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: name, ExternalID: externals[i], Active: true})
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		users[i] = u
	}
	for i, u := range users {
		got, err := store.ListUsers(ctx, ep, scimstore.IndexUserName, strings.ToLower(names[i]))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != u.Name {
			t.Errorf("userName %s: found %v, want only %s", names[i], userNames(got), u.Name)
		}
		got, err = store.ListUsers(ctx, ep, scimstore.IndexUserExternalID, externals[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != u.Name {
			t.Errorf("externalId %s: found %v, want only %s", externals[i], userNames(got), u.Name)
		}
	}
	if _, err := store.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: strings.ToUpper(names[1]), Active: true}); !errors.Is(err, scimstore.ErrNotUnique) {
		t.Errorf("creating %s while %s exists: %v, want 409", strings.ToUpper(names[1]), names[1], err)
	}
	renamed := scimv1.ScimUserSpec{UserName: "renamed@example.com", ExternalID: externals[0], Active: true}
	if _, err := store.UpdateUser(ctx, ep, users[0], renamed, false); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, 10*time.Second, func() string {
		got, err := store.ListUsers(ctx, ep, scimstore.IndexUserName, strings.ToLower(names[0]))
		if err != nil || len(got) != 0 {
			return fmt.Sprintf("userName %s after its rename: found %v (%v), want none", names[0], userNames(got), err)
		}
		return ""
	})
	got, err := store.ListUsers(ctx, ep, scimstore.IndexUserName, strings.ToLower(names[2]))
	if err != nil || len(got) != 1 || got[0].Name != users[2].Name {
		t.Errorf("userName %s after the rename of its bucket's neighbour: %v (%v), want only %s", names[2], userNames(got), err, users[2].Name)
	}
}

func userNames(users []*scimv1.ScimUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Name
	}
	return out
}
