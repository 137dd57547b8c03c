package scimserver

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sort"
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
// decide (groups, the role catalog): each one's full rendering is its own
// lean view, kept to answer the page with, so nothing is rendered twice. An
// unfiltered listing in id order renders only the page.
func page(ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter, n int,
	render func(i int) (map[string]any, error)) (map[string]any, error) {
	if unfiltered(p, f) {
		start := min(p.startIndex-1, n)
		return renderPage(ctx, rt, p, start, min(start+p.count, n), n, render)
	}
	rendered := make([]map[string]any, n)
	idx, total, err := selectPage(ctx, rt, p, f, n, func(i int, _ []string, view map[string]any) error {
		res, err := render(i)
		if err != nil {
			return err
		}
		rendered[i] = res
		maps.Copy(view, res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return renderPage(ctx, rt, p, 0, len(idx), total, func(i int) (map[string]any, error) { return rendered[idx[i]], nil })
}

// leanPage filters and sorts a listing of n resources on lean views, then
// renders only the page in full (selectPage).
func leanPage(ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter, n int,
	lean func(i int, keys []string, m map[string]any) error, render func(i int) (map[string]any, error)) (map[string]any, error) {
	idx, total, err := selectPage(ctx, rt, p, f, n, lean)
	if err != nil {
		return nil, err
	}
	return renderPage(ctx, rt, p, 0, len(idx), total, func(i int) (map[string]any, error) { return render(idx[i]) })
}

// selectPage decides a filtered or sorted listing of n resources on lean
// views and returns the indices of the page and how many matched. lean
// writes into m the members keys names of resource i; the filter and sortBy
// read nothing else (Filter.Keys), so a resource matches and sorts on its
// view as it would on its full rendering. One map is reused for every view.
func selectPage(ctx context.Context, rt *schema.ResourceType, p listParams, f *filter.Filter, n int,
	lean func(i int, keys []string, m map[string]any) error) ([]int, int, error) {
	keys := f.Keys()
	if p.sortBy != "" {
		if path, err := filter.ResolvePath(rt, p.sortBy); err == nil {
			k := path.Attr.Name
			if path.Extension(rt) {
				k = path.URN
			}
			keys = append(keys, k)
		}
	}
	type match struct {
		i   int
		key string // the sort key, with sortBy
	}
	view := map[string]any{}
	matched := make([]match, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		clear(view)
		if err := lean(i, keys, view); err != nil {
			return nil, 0, err
		}
		if f != nil && !f.Match(view) {
			continue
		}
		m := match{i: i}
		if p.sortBy != "" {
			m.key = sortKey(rt, view, p.sortBy)
		}
		matched = append(matched, m)
	}
	if p.sortBy != "" {
		sort.SliceStable(matched, func(a, b int) bool {
			if p.descending {
				return matched[a].key > matched[b].key
			}
			return matched[a].key < matched[b].key
		})
	}
	start := min(p.startIndex-1, len(matched))
	end := min(start+p.count, len(matched))
	idx := make([]int, 0, end-start)
	for _, m := range matched[start:end] {
		idx = append(idx, m.i)
	}
	return idx, len(matched), nil
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

// sortKey is the lower-cased string form of the first value at path; resources
// without a value sort last in ascending order (RFC 7644 §3.4.2.3). Only an
// absent value or an empty string counts as no value: false and 0 are values.
func sortKey(rt *schema.ResourceType, res map[string]any, path string) string {
	vals, err := filter.Values(rt, res, path)
	if err != nil || len(vals) == 0 || vals[0] == nil || vals[0] == "" {
		return "\U0010FFFF"
	}
	return strings.ToLower(fmt.Sprint(vals[0]))
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
