package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// checkOutageResponses checks every response of the outage traffic: an
// answer always came; writes got 2xx or 503 and reads 200 or 503; a 503
// carries Retry-After and a SCIM Error body; and no write that ran entirely
// while kube-apiserver was down reported success.
func checkOutageResponses(t *testing.T, recs []outcomeRecord, down, up time.Time) {
	t.Helper()
	var refusedDuringOutage, readsServed, slowest = 0, 0, time.Duration(0)
	for _, o := range recs {
		read := o.token == "read"
		what := fmt.Sprintf("%s %s (%s) at %s", o.method, o.path, o.token, o.start.Format(time.StampMilli))
		slowest = max(slowest, o.end.Sub(o.start))
		switch {
		case o.err != nil || o.status == 0:
			t.Errorf("%s: no answer: %v", what, o.err)
			continue
		case o.status == http.StatusServiceUnavailable:
			r := reply{Status: o.status, Header: o.header, Body: o.body}
			if p := scimErrorProblem(r); p != "" {
				t.Errorf("%s: 503 is not a SCIM Error: %s", what, p)
			}
			if s, err := strconv.Atoi(o.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("%s: 503 with Retry-After %q, want a positive number of seconds", what, o.header.Get("Retry-After"))
			}
		case read && o.status != http.StatusOK, !read && o.status/100 != 2:
			t.Errorf("%s: %d, want %s or 503: %s", what, o.status, map[bool]string{true: "200", false: "2xx"}[read], snippet(o.body))
		}
		inside := o.start.After(down) && o.end.Before(up)
		switch {
		case inside && !read && o.status/100 == 2:
			t.Errorf("%s: %d while kube-apiserver was down: a write cannot have been stored", what, o.status)
		case inside && !read && o.status == http.StatusServiceUnavailable:
			refusedDuringOutage++
		case inside && read && o.status == http.StatusOK:
			readsServed++
		}
	}
	t.Logf("%d requests; during the outage %d writes answered 503 and %d reads were served from the cache; slowest answer %v",
		len(recs), refusedDuringOutage, readsServed, slowest.Round(time.Millisecond))
	if refusedDuringOutage == 0 {
		t.Error("no write was refused during the outage: the outage was not exercised")
	}
}

// scimGet reads a resource through SCIM into a map.
func scimGet(ctx context.Context, e *testharness.Endpoint, path string) (int, map[string]any) {
	o := do(ctx, e, "check", e.Token, http.MethodGet, path, nil)
	var m map[string]any
	_ = json.Unmarshal(o.body, &m)
	return o.status, m
}

// valuesOf returns the "value" of each element of a multi-valued attribute.
func valuesOf(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			s, _ := m["value"].(string)
			out = append(out, s)
		}
	}
	return out
}

// checkOutageEffects checks, after the restart, that every write that got a
// 2xx is stored (in the API server at once, in SCIM reads once the cache
// caught up) and that nothing is half-written.
func checkOutageEffects(ctx context.Context, t *testing.T, op *testharness.Operator, w *outageWorkload) {
	t.Helper()
	c, e, ns := op.Client, w.e, w.e.Namespace
	var user scimv1.ScimUser
	get := func(name string, obj client.Object) error {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
	}
	start := time.Now()
	for _, o := range w.rec.all() {
		kind, arg, _ := strings.Cut(o.token, ":")
		if kind == "read" || o.status/100 != 2 {
			continue
		}
		var problem string
		switch kind {
		case "user":
			if err := get(o.id, &user); err != nil || user.Spec.UserName != arg {
				problem = fmt.Sprintf("created user %s: %v %q", o.id, err, user.Spec.UserName)
				break
			}
			problem = testharness.Wait(60*time.Second, func() string {
				if s, _ := scimGet(ctx, e, "/Users/"+o.id); s != http.StatusOK {
					return fmt.Sprintf("SCIM GET of created user %s: %d", o.id, s)
				}
				return ""
			})
		case "member", "group":
			group := w.group
			member := arg
			if kind == "group" {
				group, member = o.id, w.target
			}
			problem = testharness.Wait(60*time.Second, func() string {
				s, g := scimGet(ctx, e, "/Groups/"+group)
				if s != http.StatusOK || !slices.Contains(valuesOf(g["members"]), member) {
					return fmt.Sprintf("group %s after a 2xx %s: %d, members %v lack %s", group, kind, s, valuesOf(g["members"]), member)
				}
				return ""
			})
		case "entitlement":
			if err := get(w.target, &user); err != nil || !slices.ContainsFunc(user.Spec.Entitlements, func(m scimv1.MultiValuedAttribute) bool { return m.Value == arg }) {
				problem = fmt.Sprintf("entitlement %s acknowledged but not stored (%v)", arg, err)
				break
			}
			problem = testharness.Wait(60*time.Second, func() string {
				if _, u := scimGet(ctx, e, "/Users/"+w.target); !slices.Contains(valuesOf(u["entitlements"]), arg) {
					return "SCIM GET lacks acknowledged entitlement " + arg
				}
				return ""
			})
		case "delete":
			if err := get(arg, &user); err == nil && user.DeletionTimestamp.IsZero() {
				problem = "user " + arg + " acknowledged deleted but still stored"
				break
			}
			problem = testharness.Wait(60*time.Second, func() string {
				if s, _ := scimGet(ctx, e, "/Users/"+arg); s != http.StatusNotFound {
					return fmt.Sprintf("SCIM GET of deleted user %s: %d", arg, s)
				}
				return ""
			})
		}
		if problem != "" {
			t.Error(problem)
		}
	}
	t.Logf("every acknowledged write was readable through SCIM %v after recovery", time.Since(start).Round(time.Millisecond))
}

// checkNotHalfWritten: every user and group holds its unique value; a
// DELETE that got 503 left the user either gone or still in its group; a
// POST /Groups that got 503 left no group or a group with its member; a
// POST /Users that got 503 can be retried and yields exactly one user (the
// first and last ten such creates are retried).
func checkNotHalfWritten(ctx context.Context, t *testing.T, c client.Client, w *outageWorkload) {
	t.Helper()
	e, ns := w.e, w.e.Namespace
	var users scimv1.ScimUserList
	var groups scimv1.ScimGroupList
	var claims scimv1.ScimClaimList
	for _, l := range []client.ObjectList{&users, &groups, &claims} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	// A resource holds its value by its name (derived from the value and
	// the id epoch, and labelled with the value's name) or by a claim of
	// the value's name whose holder it is.
	holders := map[string]string{}
	for _, cl := range claims.Items {
		holders[cl.Name] = cl.Spec.Holder
	}
	reserved := func(kind string, obj client.Object, value string) bool {
		name := scimstore.UniqueName(kind, e.Name, value)
		id := obj.GetName()
		byName := strings.HasPrefix(id, strings.ToLower(kind)+"-") && obj.GetLabels()[scimv1.LabelDerivedFrom] == name
		return byName || holders[name] == id
	}
	for _, u := range users.Items {
		if u.DeletionTimestamp.IsZero() && !reserved("User", &u, u.Spec.UserName) {
			t.Errorf("user %s (%s) does not hold its userName", u.Name, u.Spec.UserName)
		}
	}
	for _, g := range groups.Items {
		if g.DeletionTimestamp.IsZero() && !reserved("Group", &g, g.Spec.DisplayName) {
			t.Errorf("group %s (%s) does not hold its displayName", g.Name, g.Spec.DisplayName)
		}
	}
	retried, refusedCreates := 0, 0
	for _, o := range w.rec.all() {
		if strings.HasPrefix(o.token, "user:") && o.status == http.StatusServiceUnavailable {
			refusedCreates++
		}
	}
	seen := 0
	for _, o := range w.rec.all() {
		kind, arg, _ := strings.Cut(o.token, ":")
		if o.status != http.StatusServiceUnavailable {
			continue
		}
		if kind == "user" {
			// Retry the first and last ten refused creates: those cut
			// short as kube-apiserver went away or came back.
			if seen++; seen > 10 && seen <= refusedCreates-10 {
				continue
			}
		}
		switch kind {
		case "delete":
			var u scimv1.ScimUser
			err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: arg}, &u)
			if err == nil && u.DeletionTimestamp.IsZero() {
				if _, g := scimGet(ctx, e, "/Groups/"+w.group); !slices.Contains(valuesOf(g["members"]), arg) {
					t.Errorf("DELETE of %s got 503; the user still exists but left its group", arg)
				}
			} else if err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
		case "group":
			_, list := scimGet(ctx, e, "/Groups?filter="+url.QueryEscape(`displayName eq "`+arg+`"`))
			for _, res := range list["Resources"].([]any) {
				if id, _ := res.(map[string]any)["id"].(string); id != "" {
					if _, g := scimGet(ctx, e, "/Groups/"+id); !slices.Contains(valuesOf(g["members"]), w.target) {
						t.Errorf("POST of group %s got 503; the group exists without its member", arg)
					}
				}
			}
		case "user":
			retried++
			// A claim left by a create cut short is taken over once it is 30 s old.
			problem := testharness.Wait(45*time.Second, func() string {
				r := do(ctx, e, "retry", e.Token, http.MethodPost, "/Users", userBody(arg, ""))
				if r.status != http.StatusCreated && r.status != http.StatusConflict {
					return fmt.Sprintf("retrying the create of %s: %d %s", arg, r.status, snippet(r.body))
				}
				_, list := scimGet(ctx, e, "/Users?filter="+url.QueryEscape(`userName eq "`+arg+`"`))
				if n, _ := list["totalResults"].(float64); n != 1 {
					return fmt.Sprintf("after retrying the create of %s (%d): %v users", arg, r.status, list["totalResults"])
				}
				return ""
			})
			if problem != "" {
				t.Error(problem)
			}
		}
	}
	t.Logf("%d of %d creates that got 503 were retried, each to exactly one user", retried, refusedCreates)
}
