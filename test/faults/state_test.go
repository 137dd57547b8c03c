package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// objectKey names one stored object.
type objectKey struct{ Kind, Namespace, Name string }

func (k objectKey) String() string { return k.Kind + " " + k.Namespace + "/" + k.Name }

// objectState is what the suite compares of a stored object: any change to
// spec, labels or annotations, and any write at all (resourceVersion).
type objectState struct {
	Spec            string
	Labels          map[string]string
	Annotations     map[string]string
	ResourceVersion string
	Finalizers      []string
}

// snapshot is the stored state of the SCIM kinds in some namespaces.
type snapshot map[objectKey]objectState

// takeSnapshot lists ScimUsers, ScimGroups, ScimMemberships and ScimClaims
// through c, which must read the API server (not an informer cache), and
// keeps those in namespaces.
func takeSnapshot(ctx context.Context, c client.Client, namespaces ...string) (snapshot, error) {
	snap := snapshot{}
	keep := func(kind string, o client.Object, spec any) error {
		if !slices.Contains(namespaces, o.GetNamespace()) {
			return nil
		}
		data, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		snap[objectKey{kind, o.GetNamespace(), o.GetName()}] = objectState{
			Spec: string(data), Labels: o.GetLabels(), Annotations: o.GetAnnotations(),
			ResourceVersion: o.GetResourceVersion(), Finalizers: o.GetFinalizers(),
		}
		return nil
	}
	var users scimv1.ScimUserList
	var groups scimv1.ScimGroupList
	var shards scimv1.ScimMembershipList
	var claims scimv1.ScimClaimList
	lists := []client.ObjectList{&users, &groups, &shards, &claims}
	errs := make([]error, len(lists))
	var wg sync.WaitGroup
	for i, l := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.List(ctx, l); err != nil {
				errs[i] = fmt.Errorf("listing %T: %w", l, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range users.Items {
		if err := keep("ScimUser", &users.Items[i], users.Items[i].Spec); err != nil {
			return nil, err
		}
	}
	for i := range groups.Items {
		if err := keep("ScimGroup", &groups.Items[i], groups.Items[i].Spec); err != nil {
			return nil, err
		}
	}
	for i := range shards.Items {
		if err := keep("ScimMembership", &shards.Items[i], shards.Items[i].Spec); err != nil {
			return nil, err
		}
	}
	for i := range claims.Items {
		if err := keep("ScimClaim", &claims.Items[i], claims.Items[i].Spec); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// delta is the difference between two snapshots.
type delta struct {
	Added, Removed, Changed []objectKey
}

// empty reports whether nothing changed.
func (d delta) empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// addedOf returns the added objects of one kind.
func (d delta) addedOf(kind string) []objectKey {
	var out []objectKey
	for _, k := range d.Added {
		if k.Kind == kind {
			out = append(out, k)
		}
	}
	return out
}

func (d delta) String() string {
	var parts []string
	for _, l := range []struct {
		what string
		keys []objectKey
	}{{"added", d.Added}, {"removed", d.Removed}, {"changed", d.Changed}} {
		for _, k := range l.keys {
			parts = append(parts, l.what+" "+k.String())
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// diff returns what changed from before to after.
func diff(before, after snapshot) delta {
	var d delta
	for _, k := range slices.SortedFunc(maps.Keys(after), compareKeys) {
		old, ok := before[k]
		switch {
		case !ok:
			d.Added = append(d.Added, k)
		case !equalState(old, after[k]):
			d.Changed = append(d.Changed, k)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(before), compareKeys) {
		if _, ok := after[k]; !ok {
			d.Removed = append(d.Removed, k)
		}
	}
	return d
}

func compareKeys(a, b objectKey) int { return strings.Compare(a.String(), b.String()) }

func equalState(a, b objectState) bool {
	return a.Spec == b.Spec && a.ResourceVersion == b.ResourceVersion &&
		maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations) &&
		slices.Equal(a.Finalizers, b.Finalizers)
}
