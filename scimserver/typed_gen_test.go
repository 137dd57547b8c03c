package scimserver

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Generators of stored users and groups and of filters over them, for the
// tests that hold the typed evaluation to the map matcher (typed_test.go).

const typedBaseURL = "https://scim.example.com/scim/v2/ns/okta"

// words are the strings users are made of and filters compare with: empty,
// mixed case, prefixes of each other, non-ASCII with case, strings that
// read as booleans and timestamps, and the sort key of no value.
var words = []string{
	"", "a", "A", "ab", "Ab", "ada", "Ada", "ADA", "Ada Lovelace", "ada lovelace", "lovelace", "Lovelace",
	"work", "Work", "WORK", "home", "other", "true", "True", "false", "FALSE",
	"ada@example.com", "Ada@Example.COM", "user-00001@example.com", "user-00002@example.org",
	"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2010-01-23T04:56:22Z", "2030-01-01T00:00:00+01:00",
	"Émile", "émile", "ÉMILE", "ß", "SS", "İstanbul", "istanbul", "ǅemal", "Σίσυφος", "ΣΊΣΥΦΟΣ",
	"\U0010FFFF", "z", "Zebra", "12", "+1 555 0100", "\u00e9", "e\u0301", "a]b", `q"uote`, `back\slash`,
}

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

// maybe is a word, or "" half of the time.
func maybe(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return ""
	}
	return word(r)
}

// instants are times users are created and modified at and filters
// compare with, so that some comparisons are between equal times.
var instants = []time.Time{
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2010, 1, 23, 4, 56, 22, 0, time.UTC),
	time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC),
}

// randomInstant is a time between 2000 and 2030 or one of instants,
// sometimes with a fraction of a second (the rendering truncates it).
func randomInstant(r *rand.Rand) time.Time {
	t := time.Unix(946684800+r.Int64N(30*365*86400), 0).UTC()
	if r.IntN(3) == 0 {
		t = instants[r.IntN(len(instants))]
	}
	if r.IntN(4) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	return t
}

// randomStamp is a last-modified annotation: absent, the server's own form,
// RFC 3339 in another zone or without fraction, or (realistic false) not a
// time at all.
func randomStamp(r *rand.Rand, realistic bool) string {
	t := randomInstant(r)
	switch r.IntN(5) {
	case 0:
		return ""
	case 1:
		return t.Format(time.RFC3339)
	case 2:
		if !realistic {
			return t.In(time.FixedZone("", 3600)).Format(time.RFC3339Nano)
		}
	case 3:
		if !realistic {
			return word(r)
		}
	}
	return t.Format(scimv1.StampFormat)
}

func randomMulti(r *rand.Rand) []scimv1.MultiValuedAttribute {
	n := r.IntN(4)
	if n == 0 {
		return nil
	}
	out := make([]scimv1.MultiValuedAttribute, n)
	for i := range out {
		out[i] = scimv1.MultiValuedAttribute{Value: maybe(r), Display: maybe(r), Type: maybe(r), Primary: r.IntN(3) == 0}
	}
	return out
}

func randomUser(r *rand.Rand, i int, realistic bool) *scimv1.ScimUser {
	u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: fmt.Sprintf("u-%04d-%s", i, strconv.Itoa(r.IntN(100))),
		ResourceVersion:   strconv.Itoa(r.IntN(100000)),
		CreationTimestamp: metav1.NewTime(randomInstant(r)),
	}}
	if lm := randomStamp(r, realistic); lm != "" {
		u.Annotations = map[string]string{AnnotationLastModified: lm}
	}
	s := &u.Spec
	s.Endpoint = "okta"
	if s.UserName = word(r); s.UserName == "" {
		s.UserName = "x" // required, at least one character (the CRD)
	}
	s.ExternalID, s.DisplayName, s.NickName, s.ProfileURL = maybe(r), maybe(r), maybe(r), maybe(r)
	s.Title, s.UserType, s.PreferredLanguage, s.Locale, s.Timezone = maybe(r), maybe(r), maybe(r), maybe(r), maybe(r)
	s.Active = r.IntN(2) == 0
	switch r.IntN(3) {
	case 1:
		s.Name = &scimv1.Name{}
	case 2:
		s.Name = &scimv1.Name{Formatted: maybe(r), FamilyName: maybe(r), GivenName: maybe(r),
			MiddleName: maybe(r), HonorificPrefix: maybe(r), HonorificSuffix: maybe(r)}
	}
	s.Emails, s.PhoneNumbers, s.IMs, s.Photos = randomMulti(r), randomMulti(r), randomMulti(r), randomMulti(r)
	s.Entitlements, s.Roles, s.X509Certificates = randomMulti(r), randomMulti(r), randomMulti(r)
	for range r.IntN(3) {
		s.Addresses = append(s.Addresses, scimv1.Address{Formatted: maybe(r), StreetAddress: maybe(r), Locality: maybe(r),
			Region: maybe(r), PostalCode: maybe(r), Country: maybe(r), Type: maybe(r), Primary: r.IntN(2) == 0})
	}
	switch r.IntN(4) {
	case 1:
		s.Enterprise = &scimv1.EnterpriseUser{Manager: &scimv1.Manager{}}
	case 2, 3:
		s.Enterprise = &scimv1.EnterpriseUser{EmployeeNumber: maybe(r), CostCenter: maybe(r), Organization: maybe(r),
			Division: maybe(r), Department: maybe(r)}
		if r.IntN(2) == 0 {
			s.Enterprise.Manager = &scimv1.Manager{Value: maybe(r), Ref: maybe(r), DisplayName: maybe(r)}
		}
	}
	return u
}

// randomGroups is what a user's groups render as.
func randomGroups(r *rand.Rand) []memberRef {
	var out []memberRef
	for range r.IntN(3) {
		id := fmt.Sprintf("g-%d", r.IntN(5))
		out = append(out, memberRef{Value: id, Ref: typedBaseURL + "/Groups/" + id, Display: maybe(r), Type: "direct"})
	}
	return out
}

func randomGroup(r *rand.Rand, i int) (*scimv1.ScimGroup, []memberRef) {
	g := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: fmt.Sprintf("g-%04d", i), ResourceVersion: strconv.Itoa(r.IntN(100000)),
		CreationTimestamp: metav1.NewTime(randomInstant(r)),
	}}
	if lm := randomStamp(r, false); lm != "" {
		g.Annotations = map[string]string{AnnotationLastModified: lm}
	}
	g.Spec.DisplayName, g.Spec.ExternalID = maybe(r), maybe(r)
	var members []memberRef
	for range r.IntN(3) {
		members = append(members, memberRef{Value: word(r), Ref: typedBaseURL + "/Users/x", Display: maybe(r), Type: "User"})
	}
	return g, members
}

// paths lists every attribute path of rt a filter or sortBy can name: each
// attribute and each sub-attribute.
func paths(rt *schema.ResourceType) []string {
	var out []string
	add := func(a *schema.Attribute) {
		out = append(out, a.Name)
		for _, s := range a.SubAttributes {
			out = append(out, a.Name+"."+s.Name)
		}
	}
	for _, a := range schema.Common() {
		add(a)
	}
	for _, a := range rt.Schema.Attributes {
		add(a)
	}
	for _, ext := range rt.Extensions {
		for _, a := range ext.Attributes {
			add(a)
		}
	}
	return out
}

// filterGen writes random filters over a resource type: comparisons of
// every attribute path with every operator and values of every type,
// presence, value filters and their `attr[inner].sub` form, not, and, or
// and parentheses, with names in random case and URNs sometimes written.
type filterGen struct {
	r  *rand.Rand
	rt *schema.ResourceType
}

func (g filterGen) expr(depth int) string {
	switch n := g.r.IntN(10); {
	case depth <= 0 || n < 4:
		return g.comparison(g.path())
	case n < 6:
		return g.valueFilter()
	case n < 7:
		return "not (" + g.expr(depth-1) + ")"
	case n < 8:
		return "(" + g.expr(depth-1) + ")"
	case n < 9:
		return g.expr(depth-1) + " and " + g.expr(depth-1)
	}
	return g.expr(depth-1) + " or " + g.expr(depth-1)
}

// path is an attribute path in random case, sometimes with its URN.
func (g filterGen) path() string {
	ps := paths(g.rt)
	p := g.cased(ps[g.r.IntN(len(ps))])
	if g.r.IntN(4) == 0 {
		if resolved, err := filter.ResolvePath(g.rt, p); err == nil && resolved.URN != "" {
			p = resolved.URN + ":" + p
		}
	}
	return p
}

func (g filterGen) cased(s string) string {
	switch g.r.IntN(4) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

func (g filterGen) comparison(path string) string {
	ops := []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
	op := g.cased(ops[g.r.IntN(len(ops))])
	if strings.EqualFold(op, "pr") {
		return path + " " + op
	}
	return path + " " + op + " " + g.value()
}

func (g filterGen) value() string {
	switch g.r.IntN(10) {
	case 0:
		return "true"
	case 1:
		return "false"
	case 2:
		return "null"
	case 3:
		return randomInstant(g.r).Format(time.RFC3339Nano)
	case 4:
		return `"` + randomInstant(g.r).In(time.FixedZone("", -7200)).Format(time.RFC3339) + `"`
	}
	w := word(g.r)
	if g.r.IntN(3) == 0 && w != "" {
		w = w[:len(w)/2] // a prefix, or a rune cut in half
	}
	data, _ := json.Marshal(w)
	return string(data)
}

// valueFilter is attr[inner] on a complex attribute, or (Lenient only)
// attr[inner].sub op value.
func (g filterGen) valueFilter() string {
	var complexAttrs []*schema.Attribute
	for _, a := range append(schema.Common(), g.rt.Schema.Attributes...) {
		if a.Type == schema.Complex {
			complexAttrs = append(complexAttrs, a)
		}
	}
	for _, ext := range g.rt.Extensions {
		for _, a := range ext.Attributes {
			if a.Type == schema.Complex {
				complexAttrs = append(complexAttrs, a)
			}
		}
	}
	a := complexAttrs[g.r.IntN(len(complexAttrs))]
	sub := func() string { return g.cased(a.SubAttributes[g.r.IntN(len(a.SubAttributes))].Name) }
	inner := g.comparison(sub())
	for g.r.IntN(2) == 0 {
		op := []string{" and ", " or "}[g.r.IntN(2)]
		next := g.comparison(sub())
		if g.r.IntN(4) == 0 {
			next = "not (" + next + ")"
		}
		inner += op + next
	}
	out := g.cased(a.Name) + "[" + inner + "]"
	if g.r.IntN(3) == 0 {
		out = g.comparison(out + "." + sub())
	}
	return out
}

// corpusFilters returns the string literals of the filter and conformance
// tests: every filter those tests hold the map matcher to, among other
// strings the caller's parse sorts out.
func corpusFilters(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, glob := range []string{"filter/*_test.go", "*quirks*_test.go", "../test/conformance/*_test.go"} {
		matches, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	seen := map[string]bool{}
	var out []string
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && !seen[s] && len(s) < 2000 {
					seen[s] = true
					out = append(out, s)
				}
			}
			return true
		})
	}
	if len(out) < 100 {
		t.Fatalf("%d string literals in %v, want the test corpora", len(out), files)
	}
	return out
}
