package tenantdb

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNormalizeUsers(t *testing.T) {
	cases := map[string]struct {
		reason  string
		in      []User
		want    []User
		wantErr error
	}{
		"SortsByID": {
			reason: "Rows are sorted by id so concurrent writers lock in the same order.",
			in:     []User{{ID: "b", UserName: "b"}, {ID: "a", UserName: "a"}},
			want:   []User{{ID: "a", UserName: "a"}, {ID: "b", UserName: "b"}},
		},
		"HighestVersionWins": {
			reason: "Of duplicate ids the highest version is kept, wherever it stands.",
			in:     []User{{ID: "a", UserName: "new", Version: 2}, {ID: "a", UserName: "old", Version: 1}},
			want:   []User{{ID: "a", UserName: "new", Version: 2}},
		},
		"LaterWinsTie": {
			reason: "Of duplicates with equal versions the later one is kept.",
			in:     []User{{ID: "a", UserName: "first"}, {ID: "a", UserName: "second"}},
			want:   []User{{ID: "a", UserName: "second"}},
		},
		"EmptyID": {
			reason:  "A user without id cannot be a row.",
			in:      []User{{UserName: "x"}},
			wantErr: ErrInvalid,
		},
		"EmptyUserName": {
			reason:  "user_name is NOT NULL in the contract and required by SCIM.",
			in:      []User{{ID: "a"}},
			wantErr: ErrInvalid,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := normalizeUsers(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s\nnormalizeUsers(...): want error %v, got %v", tc.reason, tc.wantErr, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nnormalizeUsers(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestNormalizeMembers(t *testing.T) {
	cases := map[string]struct {
		reason     string
		in         map[string][]string
		wantGroups []string
		wantPairs  []membership
		wantErr    error
	}{
		"FlattensSortsAndDedupes": {
			reason:     "Pairs come out sorted and distinct; a group with no members is still listed, so it is emptied.",
			in:         map[string][]string{"g2": {"u2", "u1", "u2"}, "g1": {}},
			wantGroups: []string{"g1", "g2"},
			wantPairs:  []membership{{"g2", "u1"}, {"g2", "u2"}},
		},
		"EmptyUserID": {
			reason:  "An empty user id is refused.",
			in:      map[string][]string{"g": {""}},
			wantErr: ErrInvalid,
		},
		"EmptyGroupID": {
			reason:  "An empty group id is refused.",
			in:      map[string][]string{"": {"u"}},
			wantErr: ErrInvalid,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			groups, pairs, err := normalizeMembers(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s\nnormalizeMembers(...): want error %v, got %v", tc.reason, tc.wantErr, err)
			}
			if diff := cmp.Diff(tc.wantGroups, groups, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\ngroups: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantPairs, pairs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\npairs: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestMemberBatches(t *testing.T) {
	pairs := []membership{{"a", "1"}, {"a", "2"}, {"a", "3"}, {"b", "1"}, {"d", "1"}}
	cases := map[string]struct {
		reason string
		groups []string
		pairs  []membership
		size   int
		want   []memberBatch
	}{
		"WholeGroups": {
			reason: "A batch closes once it reaches size, and never splits a group; an empty group costs one.",
			groups: []string{"a", "b", "c", "d"},
			pairs:  pairs,
			size:   2,
			want: []memberBatch{
				{groups: []string{"a"}, pairs: pairs[0:3]},
				{groups: []string{"b", "c"}, pairs: pairs[3:4]},
				{groups: []string{"d"}, pairs: pairs[4:5]},
			},
		},
		"OneBatch": {
			reason: "Everything fits into one batch when size allows.",
			groups: []string{"a", "b", "c", "d"},
			pairs:  pairs,
			size:   100,
			want:   []memberBatch{{groups: []string{"a", "b", "c", "d"}, pairs: pairs}},
		},
		"Nothing": {
			reason: "No groups, no batches.",
			size:   10,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := memberBatches(tc.groups, tc.pairs, tc.size)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(memberBatch{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nmemberBatches(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSupersedes(t *testing.T) {
	a := User{ID: "u", UserName: "a", Version: 2}
	b := User{ID: "u", UserName: "b", Version: 2}
	cases := map[string]struct {
		reason   string
		stored   User
		incoming User
		want     bool
	}{
		"Newer":         {reason: "A higher version wins.", stored: a, incoming: User{ID: "u", UserName: "a", Version: 3}, want: true},
		"Older":         {reason: "A lower version never wins, even with other content.", stored: a, incoming: User{ID: "u", UserName: "b", Version: 1}},
		"SameDifferent": {reason: "The same version with other content wins (repair).", stored: a, incoming: b, want: true},
		"SameEqual":     {reason: "An identical row is not rewritten.", stored: a, incoming: a},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := supersedes(tc.stored, tc.incoming, tc.stored.Version, tc.incoming.Version)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nsupersedes(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	cases := map[string]struct {
		reason       string
		files        fstest.MapFS
		wantVersions []int
		wantErr      bool
	}{
		"Ordered": {
			reason:       "Migrations are ordered by number, not by name.",
			files:        fstest.MapFS{"migrations/10_b.sql": {}, "migrations/0002_a.sql": {}},
			wantVersions: []int{2, 10},
		},
		"Misnamed": {
			reason:  "A file without a version prefix is an error, not skipped.",
			files:   fstest.MapFS{"migrations/initial.sql": {}},
			wantErr: true,
		},
		"Duplicate": {
			reason:  "Two files with one version are an error.",
			files:   fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := loadMigrations(tc.files)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nloadMigrations(...): want error %v, got %v", tc.reason, tc.wantErr, err)
			}
			var versions []int
			for _, m := range got {
				versions = append(versions, m.version)
			}
			if diff := cmp.Diff(tc.wantVersions, versions); diff != "" {
				t.Errorf("%s\nversions: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestEmbeddedMigrationsAreConsecutive(t *testing.T) {
	got, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d: versions must run 1, 2, 3...", m.name, m.version, i+1)
		}
	}
}
