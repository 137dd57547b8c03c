package faults

import (
	"fmt"
	"net/http"
	"strings"
)

// transportCases: framing tricks. Some never reach the SCIM handler: net/http
// answers them itself with a plain-text status (plainRefusal) and closes the
// connection. An unknown transfer coding is 501, as RFC 9112 §6.1 asks of a
// server ("SHOULD respond with 501"): the one 5xx the corpus expects, sent
// by net/http before any SCIM code runs. Those that reach the handler get a
// SCIM Error. None may change state; a smuggled second request never runs.
func (w *world) transportCases() []hostileCase {
	valid := mustJSON(userBody(w.fresh("transport"), ""))
	post := call(w.a, http.MethodPost, "/Users", valid)
	chunked := func(r rawRequest, body string, framing ...header) rawRequest {
		r.body = []byte(body)
		r.framing = framing
		return r
	}
	te := func(v string) header { return header{"Transfer-Encoding", v} }
	cl := func(v string) header { return header{"Content-Length", v} }
	chunk := func(data []byte) string { return fmt.Sprintf("%x\r\n%s\r\n", len(data), data) }
	validChunked := chunk(valid) + "0\r\n\r\n"

	smuggle := chunked(post, "0\r\n\r\n", te("chunked"), cl("5"))
	smuggle.smuggled = []byte("DELETE " + prefix(w.a) + "/Groups/" + w.id("a/admins") + " HTTP/1.1\r\nHost: x\r\n" +
		"Authorization: Bearer " + w.a.Token + "\r\n\r\n")
	truncated := chunked(post, string(valid), cl(fmt.Sprint(len(valid)+100)))
	truncated.halfClose = true
	unterminated := chunked(post, chunk(valid), te("chunked"))
	unterminated.halfClose = true
	trailerAuth := chunked(post.withHeader("Authorization"), chunk(valid)+"0\r\nAuthorization: Bearer "+w.a.Token+"\r\n\r\n", te("chunked"))
	noHost := post
	noHost.omitHost = true
	twoHosts := post.withHeader("Host", "evil.example")
	expect := func(r rawRequest, size int64) rawRequest {
		r.body = nil
		r.framing = []header{cl(fmt.Sprint(size)), {"Expect", "100-continue"}}
		return r
	}

	cases := []hostileCase{
		named("unknown transfer coding", chunked(post, validChunked, te("gzip")), plainRefusal(http.StatusNotImplemented)),
		named("identity transfer coding", chunked(post, string(valid), te("identity")), plainRefusal(http.StatusNotImplemented)),
		named("chunked twice in one field", chunked(post, validChunked, te("chunked, chunked")), plainRefusal(http.StatusNotImplemented)),
		named("two Transfer-Encoding fields", chunked(post, validChunked, te("chunked"), te("chunked")), plainRefusal(http.StatusNotImplemented)),
		named("gzip then chunked", chunked(post, validChunked, te("gzip, chunked")), plainRefusal(http.StatusNotImplemented)),
		named("bad chunk size", chunked(post, "zz\r\n{}\r\n0\r\n\r\n", te("chunked")), badSyntax),
		named("chunk longer than declared", chunked(post, "2\r\n{}}}}\r\n0\r\n\r\n", te("chunked")), badSyntax),
		named("chunked, no last chunk", unterminated, badSyntax),
		named("capitalised chunked, broken JSON", chunked(post, chunk([]byte("{"))+"0\r\n\r\n", te("Chunked")), badSyntax),
		named("chunked with Content-Length and a smuggled DELETE", smuggle, badSyntax),
		named("credentials in a chunked trailer", trailerAuth, noAuth),
		named("two different Content-Lengths", chunked(post, string(valid), cl(fmt.Sprint(len(valid))), cl("2")), plainRefusal(http.StatusBadRequest)),
		named("negative Content-Length", chunked(post, string(valid), cl("-5")), plainRefusal(http.StatusBadRequest)),
		named("Content-Length not a number", chunked(post, string(valid), cl("1e3")), plainRefusal(http.StatusBadRequest)),
		named("Content-Length overflows", chunked(post, string(valid), cl("99999999999999999999")), plainRefusal(http.StatusBadRequest)),
		named("Content-Length longer than the body", truncated, badSyntax),
		named("Content-Length shorter than the body", chunked(post, string(valid), cl("10")), badSyntax),
		named("100-continue with a 2 MiB body", expect(post, 2<<20), refuse(http.StatusRequestEntityTooLarge, "")),
		named("100-continue with a 10 GiB body", expect(post, 10<<30), refuse(http.StatusRequestEntityTooLarge, "")),
		named("100-continue, 10 GiB, no token", expect(post.withHeader("Authorization"), 10<<30), noAuth),
		named("unknown expectation", post.withHeader("Expect", "teapot"), plainRefusal(http.StatusExpectationFailed)),
		named("no Host", noHost, plainRefusal(http.StatusBadRequest)),
		named("two Host fields", twoHosts, plainRefusal(http.StatusBadRequest)),
		named("70 KiB header", post.withHeader("X-Junk", strings.Repeat("j", 70<<10)), plainRefusal(http.StatusRequestHeaderFieldsTooLarge)),
		named("header line without colon", withLines(post, "X-Broken-Header-Line"), plainRefusal(http.StatusBadRequest)),
		// RFC 9112 §5.2 lets a server replace obs-fold with a space, as
		// net/http does: the credential is the one the client sent.
		named("folded Authorization", withLines(post.withHeader("Authorization"), "Authorization: Bearer", " "+w.a.Token),
			accept(http.StatusCreated, w.createsUser(w.a, nil))),
	}
	// Absolute-form targets name another endpoint in the path: authorised
	// against that endpoint, whatever the authority says.
	for _, authority := range []string{"http://evil.example", "http://" + w.addr, "https://localhost"} {
		r := call(w.a, http.MethodGet, "", nil)
		r.target = authority + prefix(w.b) + "/Users/" + w.id("b/carol")
		cases = append(cases, named("absolute-form target on "+authority, r, noAuth))
		d := call(w.a, http.MethodDelete, "", nil)
		d.target = authority + prefix(w.b) + "/Groups/" + w.id("b/platform")
		cases = append(cases, named("absolute-form DELETE on "+authority, d, noAuth))
	}
	return mark("transport", cases...)
}

// withLines returns r with verbatim header block lines added.
func withLines(r rawRequest, lines ...string) rawRequest {
	r.rawLines = append(append([]string{}, r.rawLines...), lines...)
	return r
}
