package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	type result struct {
		Key   string
		Value any
		OK    bool
	}
	cases := []struct {
		reason string
		obj    map[string]any
		name   string
		want   result
	}{
		{reason: "an exact key wins over case variants",
			obj: map[string]any{"username": "b", "userName": "a"}, name: "userName",
			want: result{Key: "userName", Value: "a", OK: true}},
		{reason: "a key in another case is found",
			obj: map[string]any{"USERNAME": "a"}, name: "userName",
			want: result{Key: "USERNAME", Value: "a", OK: true}},
		{reason: "among case variants the smallest key wins, whatever the map order",
			obj: map[string]any{"username": "b", "USERNAME": "a", "UserName": "c"}, name: "userNAME",
			want: result{Key: "USERNAME", Value: "a", OK: true}},
		{reason: "a missing key is reported as absent",
			obj: map[string]any{"displayName": "x"}, name: "userName",
			want: result{}},
		{reason: "a nil map has no keys",
			obj: nil, name: "userName",
			want: result{}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var got result
			got.Key, got.Value, got.OK = Lookup(tc.obj, tc.name)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup(%q): -want +got:\n%s", tc.name, diff)
			}
		})
	}
}

func TestSetAndDelete(t *testing.T) {
	cases := []struct {
		reason string
		obj    map[string]any
		set    bool
		want   map[string]any
	}{
		{reason: "Set replaces every case variant by the canonical key",
			obj: map[string]any{"username": "a", "USERNAME": "b", "active": true}, set: true,
			want: map[string]any{"userName": "new", "active": true}},
		{reason: "Delete removes every case variant",
			obj:  map[string]any{"username": "a", "USERNAME": "b", "active": true},
			want: map[string]any{"active": true}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if tc.set {
				Set(tc.obj, "userName", "new")
			} else {
				Delete(tc.obj, "userName")
			}
			if diff := cmp.Diff(tc.want, tc.obj); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
