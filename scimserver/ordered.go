package scimserver

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A listing sorted by one of orderedAttrs, without a filter equality an
// index narrows (candidateIndex), reads the endpoint's resources already
// in order from the Store (OrderedUsers, OrderedGroups; docs/install.md,
// "Sorted listings"): an ordering per endpoint and attribute that a listing has
// asked for, which the Store keeps in order as writes arrive. Without a
// filter the page costs the page; with one, a pass over every resource in
// order that evaluates the filter (totalResults counts every match) but
// sorts nothing.

// orderedAttrs are the sortBy attributes kept in order, by resource type
// and attribute path as orderKey spells it: those IdPs and admin consoles
// sort by. Any other sortBy sorts the listing per request.
var orderedAttrs = map[string]bool{
	"User/userName":           true,
	"User/name.familyName":    true,
	"User/name.givenName":     true,
	"User/displayName":        true,
	"User/externalId":         true,
	"User/emails":             true,
	"User/emails.value":       true,
	"User/meta.created":       true,
	"User/meta.lastModified":  true,
	"Group/displayName":       true,
	"Group/externalId":        true,
	"Group/meta.created":      true,
	"Group/meta.lastModified": true,
}

// orderKey is the key of the ordering a listing sorted by sortBy reads, or
// "" when sortBy is not kept in order. Every spelling of an attribute (case,
// URN prefix) has one key.
func orderKey(rt *schema.ResourceType, sortBy string) string {
	p, err := filter.ResolvePath(rt, sortBy)
	if err != nil || p.Extension(rt) {
		return ""
	}
	key := p.Attr.Name
	if p.Sub != nil {
		key += "." + p.Sub.Name
	}
	if !orderedAttrs[rt.Name+"/"+key] {
		return ""
	}
	return key
}

// ordering returns the ordering a listing sorted by sortBy reads, from get
// (the Store's), or nil when it sorts per request: sortBy is not kept in
// order, or the Store keeps no orderings (before Follow).
func ordering[T client.Object](rt *schema.ResourceType, sortBy string, bind filter.Binder[T],
	get func(key string, cmp func(a, b T) int) (*scimstore.Ordered[T], error)) (*scimstore.Ordered[T], error) {
	key := orderKey(rt, sortBy)
	if key == "" {
		return nil, nil
	}
	cmp := sortCompare(rt, sortBy, bind)
	if cmp == nil {
		return nil, nil
	}
	return get(key, cmp)
}

// sortCompare orders two resources by their sortBy values read in place
// (filter.SortValue), ascending, as sortKeys of their renderings order; nil
// when bind has no reader for sortBy.
func sortCompare[T any](rt *schema.ResourceType, sortBy string, bind filter.Binder[T]) func(a, b T) int {
	get, _ := filter.SortValue(rt, sortBy, bind)
	if get == nil {
		return nil
	}
	return func(a, b T) int {
		av, aok := get(a)
		bv, bok := get(b)
		return compareSortValues(av, aok, bv, bok)
	}
}

// orderedSelect returns the page of a sorted listing read from ord, and
// how many resources matched: with a filter, every resource is evaluated in
// order (the compiled filter, on views where bind has no reader) and the
// page is the matches at [startIndex, startIndex+count).
func orderedSelect[T client.Object](ctx context.Context, p listParams, f *filter.Filter, ord *scimstore.Ordered[T],
	bind filter.Binder[T], view filter.View[T]) ([]T, int, error) {
	if f == nil {
		page, total := ord.Page(p.startIndex-1, p.count, p.descending)
		return page, total, nil
	}
	typed := filter.Compile(f, bind, view)
	start := p.startIndex - 1
	var page []T
	total := 0
	for i, res := range ord.All(p.descending) {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		ok, err := typed.Match(res)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		if total >= start && len(page) < p.count {
			page = append(page, res)
		}
		total++
	}
	return page, total, nil
}

// orderedPage renders the page orderedSelect selects.
func orderedPage[T client.Object](ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter,
	ord *scimstore.Ordered[T], bind filter.Binder[T], view filter.View[T], render func(T) (map[string]any, error)) (map[string]any, error) {
	page, total, err := orderedSelect(ctx, p, f, ord, bind, view)
	if err != nil {
		return nil, err
	}
	return renderPage(ctx, rt, p, 0, len(page), total, func(i int) (map[string]any, error) { return render(page[i]) })
}
