package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The SCIM server stamps what it writes with the times in the annotations
// AnnotationLastModified, AnnotationActivatedAt and AnnotationDeactivatedAt.
// This file reads them, for the projections and the deprovisioning guard.

// StampFormat is the layout of the stamps: RFC 3339 with milliseconds, an
// xsd:dateTime (RFC 7643 §2.3.5), written in UTC so that byte order is time
// order.
const StampFormat = "2006-01-02T15:04:05.000Z07:00"

// Stamp is now in StampFormat.
func Stamp() string { return time.Now().UTC().Format(StampFormat) }

// AnnotatedTime is the RFC 3339 time in o's annotation key, or the zero time
// when o carries none or an invalid one.
func AnnotatedTime(o metav1.Object, key string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, o.GetAnnotations()[key])
	if err != nil {
		return time.Time{}
	}
	return t
}

// LastModified is when the SCIM server last wrote o, or the zero time when
// o was not written through SCIM.
func LastModified(o metav1.Object) time.Time { return AnnotatedTime(o, AnnotationLastModified) }

// DeactivatedAt is when the SCIM server last turned the user inactive, or the
// zero time.
func (u *ScimUser) DeactivatedAt() time.Time { return AnnotatedTime(u, AnnotationDeactivatedAt) }

// ActivatedAt is when the SCIM server last turned the user active again after
// a deactivation, or the zero time.
func (u *ScimUser) ActivatedAt() time.Time { return AnnotatedTime(u, AnnotationActivatedAt) }

// RolesCurrent reports whether the user's roles are what the identity
// provider decided since the user was last reactivated: true for a user never
// deactivated and reactivated, else only once the roles were sent again. An
// IdP does not push changes to a deactivated user, so roles stored before the
// deactivation may have been revoked meanwhile; they grant nothing until the
// IdP sends them again.
func (u *ScimUser) RolesCurrent() bool {
	activated := u.ActivatedAt()
	return activated.IsZero() || !AnnotatedTime(u, AnnotationRolesSentAt).Before(activated)
}

// NewestWrite finds the newest last-modified stamp among many objects, the
// instant LastModified gives for the newest of them, while parsing few: the
// projections measure their lag from it. The SCIM server writes the annotation in one fixed-width
// UTC form whose byte order is its time order: those values are compared as
// strings and parsed only when they beat the newest so far. Any other form is
// parsed.
// +kubebuilder:object:generate=false
type NewestWrite struct {
	fixed  string    // the greatest valid fixed-width value seen
	parsed time.Time // the newest of every value parsed
}

// Observe counts o's stamp.
func (w *NewestWrite) Observe(o metav1.Object) {
	v := o.GetAnnotations()[AnnotationLastModified]
	if v == "" {
		return
	}
	fixed := isFixedWidthUTC(v)
	if fixed && v <= w.fixed {
		return // not newer; if it is invalid, it does not count either
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return
	}
	if fixed {
		w.fixed = v
	}
	if t.After(w.parsed) {
		w.parsed = t
	}
}

// Time is the newest stamp observed, or the zero time.
func (w *NewestWrite) Time() time.Time { return w.parsed }

// isFixedWidthUTC reports whether v has the shape of a StampFormat time in
// UTC (e.g. "2026-11-25T10:00:00.250Z"): digits and separators in fixed
// places.
func isFixedWidthUTC(v string) bool {
	if len(v) != len("2006-01-02T15:04:05.000Z") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		case 19:
			if c != '.' {
				return false
			}
		case 23:
			if c != 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}
