package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNewestWrite checks that the newest write found while parsing few
// stamps is the instant LastModified gives for the newest one.
func TestNewestWrite(t *testing.T) {
	for _, tc := range []struct {
		reason string
		values []string
		want   string // "" for the zero time
	}{
		{"none", nil, ""},
		{"no annotation or unparsable ones", []string{"", "yesterday", "2026-13-01T00:00:00.000Z"}, ""},
		{"the greatest fixed-width value", []string{"2026-11-25T10:00:00.250Z", "2026-11-25T10:00:01.000Z", "2026-11-24T23:59:59.999Z"},
			"2026-11-25T10:00:01.000Z"},
		{"an invalid value that sorts last does not hide the newest valid one",
			[]string{"2026-11-25T10:00:00.250Z", "2026-99-25T10:00:00.250Z", "2026-11-25T09:00:00.000Z"}, "2026-11-25T10:00:00.250Z"},
		{"an invalid value first does not hide a later valid one",
			[]string{"2026-99-25T10:00:00.250Z", "2026-11-25T10:00:00.250Z"}, "2026-11-25T10:00:00.250Z"},
		{"an offset value newer than every UTC one", []string{"2026-11-25T10:00:00.250Z", "2026-11-25T12:30:00+02:00"},
			"2026-11-25T12:30:00+02:00"},
		{"an offset value older than a UTC one", []string{"2026-11-25T10:00:00.250Z", "2026-11-25T11:30:00+02:00"},
			"2026-11-25T10:00:00.250Z"},
		{"nanoseconds beyond milliseconds", []string{"2026-11-25T10:00:00.250Z", "2026-11-25T10:00:00.250000001Z"},
			"2026-11-25T10:00:00.250000001Z"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			var w NewestWrite
			for _, v := range tc.values {
				w.Observe(&metav1.ObjectMeta{Annotations: map[string]string{AnnotationLastModified: v}})
			}
			want := LastModified(&metav1.ObjectMeta{Annotations: map[string]string{AnnotationLastModified: tc.want}})
			if got := w.Time(); !got.Equal(want) {
				t.Errorf("%s: newest write %v, want %v", tc.reason, got, want)
			}
		})
	}
}

func TestIsFixedWidthUTC(t *testing.T) {
	for v, want := range map[string]bool{
		"2026-11-25T10:00:00.250Z":      true,
		Stamp():                         true,
		"2026-11-25T10:00:00.25Z":       false,
		"2026-11-25T10:00:00.250+00:00": false,
		"2026-11-25 10:00:00.250Z":      false,
		"2026-11-25T10:00:00Z":          false,
		"20x6-11-25T10:00:00.250Z":      false,
		"":                              false,
	} {
		if got := isFixedWidthUTC(v); got != want {
			t.Errorf("isFixedWidthUTC(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestLastModified(t *testing.T) {
	o := &metav1.ObjectMeta{Annotations: map[string]string{AnnotationLastModified: "2026-11-25T10:00:00.250Z"}}
	want := time.Date(2026, 11, 25, 10, 0, 0, 250e6, time.UTC)
	if got := LastModified(o); !got.Equal(want) {
		t.Fatalf("LastModified = %v, want %v", got, want)
	}
	for _, v := range []string{"", "yesterday"} {
		o.Annotations[AnnotationLastModified] = v
		if got := LastModified(o); !got.IsZero() {
			t.Fatalf("LastModified(%q) = %v, want zero", v, got)
		}
	}
}

// TestRolesCurrent: after a reactivation, roles count only once the IdP
// sent them again, at the reactivation's write or later.
func TestRolesCurrent(t *testing.T) {
	for _, tc := range []struct {
		reason               string
		activated, rolesSent string
		want                 bool
	}{
		{"never reactivated", "", "", true},
		{"never reactivated, roles sent", "", "2026-11-25T10:00:00.000Z", true},
		{"reactivated, roles never sent", "2026-11-25T10:00:00.000Z", "", false},
		{"reactivated after the roles were sent", "2026-11-25T10:00:00.000Z", "2026-11-25T09:00:00.000Z", false},
		{"roles sent in the reactivating write", "2026-11-25T10:00:00.000Z", "2026-11-25T10:00:00.000Z", true},
		{"roles sent after the reactivation", "2026-11-25T10:00:00.000Z", "2026-11-25T10:00:01.000Z", true},
	} {
		u := &ScimUser{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
		if tc.activated != "" {
			u.Annotations[AnnotationActivatedAt] = tc.activated
		}
		if tc.rolesSent != "" {
			u.Annotations[AnnotationRolesSentAt] = tc.rolesSent
		}
		if got := u.RolesCurrent(); got != tc.want {
			t.Errorf("%s: RolesCurrent %v, want %v", tc.reason, got, tc.want)
		}
	}
}
