package faults

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"strings"
	"unicode/utf16"
)

// writeTargets are the writes every malformed body is sent to: resource
// bodies (POST, PUT) and PatchOp bodies, for users and groups, on the
// lenient endpoint a and the strict endpoint s.
func (w *world) writeTargets() []struct {
	name string
	req  func(body []byte) rawRequest
} {
	alice, eng := w.id("a/alice"), w.id("a/engineering")
	sam, sg := w.id("s/sam"), w.id("s/strict")
	type target = struct {
		name string
		req  func(body []byte) rawRequest
	}
	mk := func(name string, e func() rawRequest) target {
		return target{name, func(body []byte) rawRequest {
			r := e()
			r.body = body
			return r
		}}
	}
	return []target{
		mk("POST a/Users", func() rawRequest { return call(w.a, http.MethodPost, "/Users", "") }),
		mk("PUT a/Users/alice", func() rawRequest { return call(w.a, http.MethodPut, "/Users/"+alice, "") }),
		mk("PATCH a/Users/alice", func() rawRequest { return call(w.a, http.MethodPatch, "/Users/"+alice, "") }),
		mk("POST a/Groups", func() rawRequest { return call(w.a, http.MethodPost, "/Groups", "") }),
		mk("PUT a/Groups/engineering", func() rawRequest { return call(w.a, http.MethodPut, "/Groups/"+eng, "") }),
		mk("PATCH a/Groups/engineering", func() rawRequest { return call(w.a, http.MethodPatch, "/Groups/"+eng, "") }),
		mk("POST s/Users", func() rawRequest { return call(w.s, http.MethodPost, "/Users", "") }),
		mk("PATCH s/Users/sam", func() rawRequest { return call(w.s, http.MethodPatch, "/Users/"+sam, "") }),
		mk("PATCH s/Groups/strict", func() rawRequest { return call(w.s, http.MethodPatch, "/Groups/"+sg, "") }),
	}
}

// brokenBodies are request bodies that are not one well-formed JSON object
// in UTF-8: the records of testdata/broken-json.txt plus byte-level ones.
func brokenBodies() (map[string][]byte, error) {
	data, err := os.ReadFile("testdata/broken-json.txt")
	if err != nil {
		return nil, err
	}
	bodies := map[string][]byte{}
	for _, rec := range strings.Split(string(data), "\n=== ")[1:] {
		name, body, _ := strings.Cut(rec, "\n")
		bodies[name] = []byte(strings.TrimSuffix(body, "\n"))
	}
	valid := `{"userName": "broken@example.com", "displayName": "Broken", "Operations": [{"op": "add", "path": "title", "value": "x"}]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(valid))
	_ = zw.Close()
	var u16 bytes.Buffer
	u16.Write([]byte{0xff, 0xfe})
	for _, c := range utf16.Encode([]rune(valid)) {
		u16.Write([]byte{byte(c), byte(c >> 8)})
	}
	bodies["UTF-8 byte order mark"] = append([]byte("\xef\xbb\xbf"), valid...)
	bodies["UTF-16"] = u16.Bytes()
	bodies["gzip without Content-Encoding"] = gz.Bytes()
	bodies["invalid UTF-8 in a string"] = []byte(`{"userName": "bro` + "\xff\xfe" + `ken@example.com", "displayName": "` + "\xc0\xae" + `", "Operations": [{"op": "add", "path": "title", "value": "` + "\xed\xa0\x80" + `"}]}`)
	bodies["invalid UTF-8 after the object"] = []byte(valid + "\xff")
	bodies["leading NUL"] = []byte("\x00" + valid)
	bodies["trailing NUL"] = []byte(valid + "\x00")
	return bodies, nil
}

// syntaxCases: every broken body on every write target is 400 invalidSyntax
// and changes nothing. (Invalid UTF-8 is refused rather than silently
// replaced: RFC 8259 §8.1 requires UTF-8, and a userName must not be stored
// differently from what the IdP believes it sent.)
func (w *world) syntaxCases() []hostileCase {
	bodies, err := brokenBodies()
	if err != nil {
		panic(err)
	}
	var cases []hostileCase
	for _, t := range w.writeTargets() {
		for name, body := range bodies {
			cases = append(cases, named(t.name+", "+name, t.req(body), badSyntax))
		}
	}
	return mark("syntax", cases...)
}

// nest wraps inner in depth JSON arrays.
func nest(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

// nestObjects wraps inner in depth JSON objects under key k.
func nestObjects(depth int, k, inner string) string {
	return strings.Repeat(`{"`+k+`":`, depth) + inner + strings.Repeat("}", depth)
}

// nestingCases: deeply nested JSON in attribute values and deeply nested
// PATCH path filters. Nesting beyond encoding/json's limit (10,000) is
// invalidSyntax; a nested value where a string belongs is invalidValue; a
// path filter nested past the filter package's cap is refused before it is
// parsed. None may exhaust the stack: the process would die.
func (w *world) nestingCases() []hostileCase {
	alice, eng := w.id("a/alice"), w.id("a/engineering")
	var cases []hostileCase
	for _, depth := range []int{10, 100, 1000, 9990, 10001, 50000} {
		want := badValue
		if depth > 10000 {
			want = badSyntax
		}
		user := `{"schemas": ["` + userURN + `"], "userName": ` + nest(depth, `"deep@example.com"`) + `}`
		cases = append(cases,
			named("userName in nested arrays", call(w.a, http.MethodPost, "/Users", user), want),
			named("givenName in nested objects", call(w.a, http.MethodPost, "/Users",
				`{"userName": "`+w.fresh("deep")+`", "name": {"givenName": `+nestObjects(depth, "givenName", `"x"`)+`}}`), want),
			named("PUT userName in nested arrays", call(w.a, http.MethodPut, "/Users/"+alice, user), want),
			named("PATCH title in nested arrays", call(w.a, http.MethodPatch, "/Users/"+alice,
				`{"schemas": ["`+patchOpURN+`"], "Operations": [{"op": "replace", "path": "title", "value": `+nest(depth, `"x"`)+`}]}`), want),
			named("members in nested arrays", call(w.a, http.MethodPatch, "/Groups/"+eng,
				`{"schemas": ["`+patchOpURN+`"], "Operations": [{"op": "add", "path": "members", "value": [`+nest(depth, `{"value": "`+alice+`"}`)+`]}]}`), want),
		)
		if depth > 10000 {
			// Too deep to decode at all, even where the attribute is unknown.
			cases = append(cases, named("unknown attribute nested too deep", call(w.a, http.MethodPost, "/Users",
				`{"userName": "`+w.fresh("deep")+`", "x-junk": `+nest(depth, "1")+`}`), badSyntax))
		}
	}
	for _, depth := range []int{17, 64, 1000} {
		for _, p := range []struct{ name, path string }{
			{"parentheses", `emails[` + strings.Repeat("(", depth) + `type eq "work"` + strings.Repeat(")", depth) + `].value`},
			{"not", `emails[` + strings.Repeat("not (", depth) + `type eq "work"` + strings.Repeat(")", depth) + `].value`},
			{"brackets", strings.Repeat("emails[", depth) + `type eq "work"` + strings.Repeat("]", depth)},
		} {
			cases = append(cases, named("PATCH path nested "+p.name, call(w.a, http.MethodPatch, "/Users/"+alice,
				patchOp(op("replace", p.path, "deep@example.com"))), refuse(http.StatusBadRequest, "invalidPath")))
		}
	}
	// Nested but within every limit, in an attribute the lenient endpoint
	// drops: created, and nothing of it stored.
	cases = append(cases, named("unknown attribute nested 9,000 deep", call(w.a, http.MethodPost, "/Users",
		`{"userName": "`+w.fresh("deep")+`", "x-junk": `+nest(9000, "1")+`}`), accept(http.StatusCreated, w.createsUser(w.a, nil))))
	return mark("nesting", cases...)
}
