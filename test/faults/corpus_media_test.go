package faults

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// maxBody is the SCIM server's default request body cap.
const maxBody = 1 << 20

// oversizeCases: bodies over the 1 MiB cap, declared or streamed, on every
// write: 413 with a SCIM Error, without the body being read; without a valid
// token 401 first.
func (w *world) oversizeCases() []hostileCase {
	padded := func(size int) []byte {
		head := fmt.Sprintf(`{"schemas": [%q], "userName": %q, "displayName": "`, userURN, w.fresh("big"))
		return []byte(head + strings.Repeat("p", size-len(head)-2) + `"}`)
	}
	big := padded(maxBody + 1)
	tooLarge := refuse(http.StatusRequestEntityTooLarge, "")
	var cases []hostileCase
	for _, t := range w.writeTargets() {
		cases = append(cases, named(t.name+", 1 MiB + 1 byte", t.req(big), tooLarge))
		r := t.req(padded(2 * maxBody))
		r.framing = []header{{"Transfer-Encoding", "chunked"}}
		r.body = chunkedBody(r.body, 64<<10)
		cases = append(cases, named(t.name+", 2 MiB streamed", r, tooLarge))
	}
	post := w.writeTargets()[0].req(big)
	streamed := post
	streamed.framing = []header{{"Transfer-Encoding", "chunked"}}
	streamed.body = chunkedBody(padded(4*maxBody), 64<<10)
	cases = append(cases,
		named("1 MiB + 1 byte, no token", post.withHeader("Authorization"), noAuth),
		named("1 MiB + 1 byte, b's token", post.withHeader("Authorization", "Bearer "+w.b.Token), noAuth),
		named("4 MiB streamed, no token", streamed.withHeader("Authorization"), noAuth),
		named("4 MiB streamed", streamed, tooLarge),
		named("JSON nested 600,000 deep", call(w.a, http.MethodPost, "/Users", nest(600000, "1")), tooLarge),
	)
	return mark("oversize", cases...)
}

// chunkedBody frames data in chunks of size n, with the last chunk.
func chunkedBody(data []byte, n int) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		c := data[:min(n, len(data))]
		data = data[len(c):]
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// contentTypeCases: bodies that would succeed, sent with a media type that
// is not JSON: 415 with a SCIM Error on every endpoint. Lenient mode also
// takes a missing Content-Type, text/plain and any type ending in "json"
// (IdPs send them; the body is still parsed as strict JSON): created on a,
// 415 on the strict endpoint s. A Content-Encoding the server does not decode leaves
// the body unparseable: 400 invalidSyntax.
func (w *world) contentTypeCases() []hostileCase {
	alice := w.id("a/alice")
	unsupported := refuse(http.StatusUnsupportedMediaType, "")
	var cases []hostileCase
	requests := func(e *testharness.Endpoint, what string) []struct {
		name string
		req  rawRequest
	} {
		return []struct {
			name string
			req  rawRequest
		}{
			{"POST " + what + "/Users", call(e, http.MethodPost, "/Users", userBody(w.fresh("media"), ""))},
			{"PATCH " + what + "/Users/alice", call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(op("replace", "title", w.fresh("title"))))},
		}
	}
	for _, ct := range []string{"text/xml", "application/xml", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/octet-stream", "text/html", "image/png",
		"application/scim+xml", "*/*", "application/", ";charset=utf-8"} {
		for _, r := range append(requests(w.a, "a"), requests(w.s, "s")[0]) {
			cases = append(cases, named(r.name+" as "+ct, r.req.withHeader("Content-Type", ct), unsupported))
		}
	}
	for _, ct := range []string{"", "text/plain", "application/json-patch+json", "application/vnd.api+json", "json"} {
		s := requests(w.s, "s")[0]
		a := requests(w.a, "a")[0]
		values := []string{ct}
		if ct == "" {
			values = nil
		}
		cases = append(cases,
			named(s.name+" as "+ct, s.req.withHeader("Content-Type", values...), unsupported),
			named(a.name+" as "+ct, a.req.withHeader("Content-Type", values...), accept(http.StatusCreated, w.createsUser(w.a, nil))),
		)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(mustJSON(userBody(w.fresh("gzip"), "")))
	_ = zw.Close()
	enc := call(w.a, http.MethodPost, "/Users", gz.Bytes()).withHeader("Content-Encoding", "gzip")
	cases = append(cases, named("gzip Content-Encoding", enc, badSyntax))
	return mark("content-type", cases...)
}

// schemaCases: the "schemas" a resource body declares. RFC 7643 §3 requires
// a non-empty list of the resource's schema and known extensions; the strict
// endpoint refuses anything else (400 invalidSyntax). The lenient endpoint
// reads the body as the resource type its URL names: it accepts a missing
// "schemas", repeats, a missing core URN and URIs it does not know (Entra
// lists its own), dropping unknown extension attributes, but a "schemas"
// that is not an array of URIs or names no schema of the resource type is
// refused there too (docs/compatibility.md).
func (w *world) schemaCases() []hostileCase {
	variants := []struct {
		name    string
		schemas any // nil: no "schemas" member
		extra   map[string]any
		lenient bool // accepted by the lenient endpoint
	}{
		{"missing", nil, nil, true},
		{"empty", []any{}, nil, false},
		{"unknown only", []any{"urn:evil:schema"}, nil, false},
		{"Group schema on a User", []any{groupURN}, nil, false},
		{"a string", userURN, nil, false},
		{"numbers", []any{5}, nil, false},
		{"core plus unknown", []any{userURN, "urn:evil:schema"}, nil, true},
		{"extension without core", []any{enterpriseURN}, nil, true},
		{"core twice", []any{userURN, userURN}, nil, true},
		{"padded URN", []any{" " + userURN + " "}, nil, false},
		{"unknown extension attributes", []any{userURN, "urn:evil:ext:2.0:User"}, map[string]any{"urn:evil:ext:2.0:User": map[string]any{"clearance": "top"}}, true},
		{"Group attribute by URN", []any{userURN}, map[string]any{groupURN + ":displayName": "x"}, true},
	}
	var cases []hostileCase
	for _, v := range variants {
		body := func() map[string]any {
			b := userBody(w.fresh("schemas"), "")
			delete(b, "schemas")
			if v.schemas != nil {
				b["schemas"] = v.schemas
			}
			for k, x := range v.extra {
				b[k] = x
			}
			return b
		}
		lenient := badSyntax
		if v.lenient {
			lenient = accept(http.StatusCreated, w.createsUser(w.a, nil))
		}
		cases = append(cases,
			named("strict, "+v.name, call(w.s, http.MethodPost, "/Users", body()), badSyntax),
			named("lenient, "+v.name, call(w.a, http.MethodPost, "/Users", body()), lenient),
		)
	}
	sam := w.id("s/sam")
	for _, g := range []struct {
		name    string
		schemas any
	}{{"User schema on a Group", []any{userURN}}, {"missing", nil}, {"unknown", []any{"urn:evil"}}} {
		b := map[string]any{"displayName": w.fresh("schemas")}
		if g.schemas != nil {
			b["schemas"] = g.schemas
		}
		lenient := badSyntax
		if g.schemas == nil {
			lenient = accept(http.StatusCreated, w.createsGroup(w.a))
		}
		cases = append(cases,
			named("strict group, "+g.name, call(w.s, http.MethodPost, "/Groups", b), badSyntax),
			named("lenient group, "+g.name, call(w.a, http.MethodPost, "/Groups", b), lenient),
		)
	}
	for _, p := range []struct {
		name    string
		schemas any
	}{{"missing", nil}, {"User schema", []any{userURN}}, {"unknown", []any{"urn:evil"}}, {"empty", []any{}}, {"a string", patchOpURN}} {
		b := patchOp(op("replace", "title", "schemas"))
		delete(b, "schemas")
		if p.schemas != nil {
			b["schemas"] = p.schemas
		}
		cases = append(cases, named("strict PatchOp, "+p.name, call(w.s, http.MethodPatch, "/Users/"+sam, b), badSyntax))
	}
	return mark("schemas", cases...)
}
