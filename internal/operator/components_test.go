package operator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestParseComponents(t *testing.T) {
	for _, tc := range []struct {
		reason           string
		in               string
		want             Components
		scim, reconciles bool
		err              bool
	}{
		{"empty runs everything", "", ComponentsAll, true, true, false},
		{"all", "all", ComponentsAll, true, true, false},
		{"the SCIM server alone", "scim", ComponentsSCIM, true, false, false},
		{"the reconcilers alone", "controllers", ComponentsControllers, false, true, false},
		{"unknown", "webhooks", "", false, false, true},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			got, err := ParseComponents(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("ParseComponents(%q) error = %v, want error %v", tc.in, err, tc.err)
			}
			if tc.err {
				return
			}
			if diff := cmp.Diff([]any{tc.want, tc.scim, tc.reconciles}, []any{got, got.SCIM(), got.Controllers()}); diff != "" {
				t.Errorf("ParseComponents(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestCacheByObjectSecrets(t *testing.T) {
	secrets := func(byObject map[string][]string) []string { return byObject["Secret"] }
	kinds := func(namespaces []string) map[string][]string {
		out := map[string][]string{}
		for obj, by := range cacheByObject(namespaces) {
			if _, ok := obj.(*corev1.Secret); ok {
				for ns := range by.Namespaces {
					out["Secret"] = append(out["Secret"], ns)
				}
				if out["Secret"] == nil {
					out["Secret"] = []string{}
				}
			}
		}
		return out
	}
	if got := secrets(kinds(nil)); got != nil {
		t.Errorf("without --secret-namespaces the Secret cache is restricted to %v, want every namespace", got)
	}
	if got := secrets(kinds([]string{"identity"})); !cmp.Equal(got, []string{"identity"}) {
		t.Errorf("Secret cache namespaces = %v, want [identity]", got)
	}
}
