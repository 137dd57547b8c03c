package scimserver

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/attrselect"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// checkEvery is how many resources a listing renders between looks at the
// request's context.
const checkEvery = 256

// indexedAttrs maps the attributes a filter equality can use an index for to
// the index: userName/displayName indexes hold lower-cased values.
var indexedAttrs = map[string]struct {
	field string
	lower bool
}{
	"User/userName":     {scimstore.IndexUserName, true},
	"User/externalId":   {scimstore.IndexUserExternalID, false},
	"Group/displayName": {scimstore.IndexGroupDisplayName, true},
	"Group/externalId":  {scimstore.IndexGroupExternalID, false},
}

// candidateIndex picks the index to narrow a filtered list with: the first
// top-level equality on an indexed attribute. An "id eq" equality is returned
// as field "id".
func candidateIndex(rt *schema.ResourceType, f *filter.Filter) (field, value string) {
	if f == nil {
		return "", ""
	}
	for _, eq := range f.Equalities() {
		if eq.Attr == "id" {
			return "id", eq.Value
		}
		if ix, ok := indexedAttrs[rt.Name+"/"+eq.Attr]; ok {
			v := eq.Value
			if ix.lower {
				v = strings.ToLower(v)
			}
			return ix.field, v
		}
	}
	return "", ""
}

// page filters, sorts and pages resources cheap enough to render whole to
// decide (the role catalog): each one's full rendering is its own view,
// kept to answer the page with, so nothing is rendered twice. An unfiltered
// listing in id order renders only the page.
func page(ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter, n int,
	render func(i int) (map[string]any, error)) (map[string]any, error) {
	if unfiltered(p, f) {
		start := min(p.startIndex-1, n)
		return renderPage(ctx, rt, p, start, min(start+p.count, n), n, render)
	}
	rendered := make([]map[string]any, n)
	d := viewDecider(rt, p, f, n, func(i int, _ []string, view map[string]any) error {
		res, err := render(i)
		if err != nil {
			return err
		}
		rendered[i] = res
		maps.Copy(view, res)
		return nil
	})
	idx, total, err := selectPage(ctx, p, n, d)
	if err != nil {
		return nil, err
	}
	return renderPage(ctx, rt, p, 0, len(idx), total, func(i int) (map[string]any, error) { return rendered[idx[i]], nil })
}

// leanPage filters and sorts stored resources where they are (typedDecider)
// and renders only the page. view writes a lean view of a resource, for
// what bind has no reader for; render renders one in full.
func leanPage[T any](ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter, items []T,
	bind filter.Binder[T], view filter.View[T], render func(T) (map[string]any, error)) (map[string]any, error) {
	idx, total, err := selectPage(ctx, p, len(items), typedDecider(rt, p, f, items, bind, view))
	if err != nil {
		return nil, err
	}
	return renderPage(ctx, rt, p, 0, len(idx), total, func(i int) (map[string]any, error) { return render(items[idx[i]]) })
}

// A decider decides a filtered or sorted listing of n resources: match
// reports whether resource i is listed (and readies its sort key), cmp
// orders two listed resources by their sort keys, ascending; it is nil
// without sortBy.
type decider struct {
	match func(i int) (bool, error)
	cmp   func(a, b int) int
}

// selectPage decides a listing of n resources and returns the indices of the
// page and how many matched. Resources of equal sort keys keep their order,
// the id order the Store lists in. What it allocates per resource is one
// int32 of the listed ones' indices, beside what d allocates.
func selectPage(ctx context.Context, p listParams, n int, d decider) ([]int, int, error) {
	matched := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		ok, err := d.match(i)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			matched = append(matched, int32(i))
		}
	}
	if d.cmp != nil {
		slices.SortStableFunc(matched, func(a, b int32) int {
			if p.descending {
				a, b = b, a
			}
			return d.cmp(int(a), int(b))
		})
	}
	start := min(p.startIndex-1, len(matched))
	end := min(start+p.count, len(matched))
	idx := make([]int, 0, end-start)
	for _, i := range matched[start:end] {
		idx = append(idx, int(i))
	}
	return idx, len(matched), nil
}

// typedDecider decides on the stored objects: the filter compiled against
// bind (filter.Typed), and the sortBy value read in place
// (filter.SortValue) and compared without being rendered
// (compareSortValues). Where bind has no reader, a filter node or the sort
// key reads a lean view written by view.
func typedDecider[T any](rt *schema.ResourceType, p listParams, f *filter.Filter, items []T,
	bind filter.Binder[T], view filter.View[T]) decider {
	typed := filter.Compile(f, bind, view)
	d := decider{match: func(i int) (bool, error) { return typed.Match(items[i]) }}
	if p.sortBy == "" {
		return d
	}
	if cmp := sortCompare(rt, p.sortBy, bind); cmp != nil {
		d.cmp = func(a, b int) int { return cmp(items[a], items[b]) }
		return d
	}
	keys := make([]string, len(items))
	members := []string{sortMember(rt, p.sortBy)}
	m := map[string]any{}
	match := d.match
	d.match = func(i int) (bool, error) {
		ok, err := match(i)
		if !ok || err != nil {
			return false, err
		}
		clear(m)
		if err := view(items[i], members, m); err != nil {
			return false, err
		}
		keys[i] = sortKey(rt, m, p.sortBy)
		return true, nil
	}
	d.cmp = func(a, b int) int { return strings.Compare(keys[a], keys[b]) }
	return d
}

// viewDecider decides on views: lean writes into m the members keys names
// of resource i; the filter and sortBy read nothing else (Filter.Keys), so a
// resource matches and sorts on its view as it would on its full rendering.
// One map is reused for every view.
func viewDecider(rt *schema.ResourceType, p listParams, f *filter.Filter, n int,
	lean func(i int, keys []string, m map[string]any) error) decider {
	members := f.Keys()
	var keys []string
	if p.sortBy != "" {
		members = append(members, sortMember(rt, p.sortBy))
		keys = make([]string, n)
	}
	view := map[string]any{}
	d := decider{match: func(i int) (bool, error) {
		clear(view)
		if err := lean(i, members, view); err != nil {
			return false, err
		}
		if f != nil && !f.Match(view) {
			return false, nil
		}
		if keys != nil {
			keys[i] = sortKey(rt, view, p.sortBy)
		}
		return true, nil
	}}
	if keys != nil {
		d.cmp = func(a, b int) int { return strings.Compare(keys[a], keys[b]) }
	}
	return d
}

// sortMember is the member of a resource's rendering sortBy reads.
func sortMember(rt *schema.ResourceType, sortBy string) string {
	path, err := filter.ResolvePath(rt, sortBy)
	switch {
	case err != nil:
		return ""
	case path.Extension(rt):
		return path.URN
	}
	return path.Attr.Name
}

// unfiltered reports whether a listing is a plain page in id order, which
// the Store serves at the cost of the page (PageUsers, PageGroups).
func unfiltered(p listParams, f *filter.Filter) bool { return f == nil && p.sortBy == "" }

// renderPage renders the resources [start, end) of a listing of total.
func renderPage(ctx context.Context, rt *schema.ResourceType, p listParams, start, end, total int,
	render func(i int) (map[string]any, error)) (map[string]any, error) {
	out := make([]map[string]any, 0, max(end-start, 0))
	for i := start; i < end; i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res, err := render(i)
		if err != nil {
			return nil, err
		}
		out = append(out, attrselect.Select(rt, res, p.attributes, p.exclude))
	}
	return listResponse(out, total, p.startIndex), nil
}

// parseFilter parses a filter parameter; an empty one means no filter.
func (s *Server) parseFilter(rt *schema.ResourceType, expr string, q schema.Quirks) (*filter.Filter, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > s.opts.MaxFilterLength {
		return nil, errorf(http.StatusBadRequest, scimInvalidFilter, "the filter is longer than %d characters", s.opts.MaxFilterLength)
	}
	return filter.ParseWith(rt, expr, q)
}

// filterMentions reports whether a filter expression names attr (a cheap,
// conservative check used to decide whether members must be rendered).
func filterMentions(expr, attr string) bool {
	return strings.Contains(strings.ToLower(expr), strings.ToLower(attr))
}
