package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// URNs of RFC 7643/7644, spelled out so the suite checks the wire format
// independently of the server's constants.
const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpURN    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// header is one header field line; a request may carry a name twice.
type header struct{ name, value string }

// rawRequest is an HTTP/1.1 request built byte by byte, so that the corpus
// can send what net/http's client would refuse or clean up: encoded or
// unnormalised request targets, duplicate headers, odd framing.
type rawRequest struct {
	method string
	target string // the request-target exactly as sent
	// headers are sent in order after Host. Authorization, Content-Type and
	// Content-Length are not added automatically: see the corpus builders.
	headers []header
	body    []byte
	// framing, when set, replaces the Content-Length line (for
	// Transfer-Encoding and mismatched-length cases); body is then sent as is.
	framing []header
	// halfClose closes the write side after the body, so a server waiting
	// for more body bytes sees EOF instead of hanging.
	halfClose bool
	// bodyless reads the response as one to a HEAD request.
	bodyless bool
	// rawLines are header block lines sent verbatim (malformed ones).
	rawLines []string
	// omitHost leaves out the Host line.
	omitHost bool
	// smuggled is sent on the same connection right after the request.
	smuggled []byte
}

// bytes renders the request for host.
func (r rawRequest) bytes(host string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.method, r.target)
	if !r.omitHost {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
	}
	for _, l := range r.rawLines {
		b.WriteString(l + "\r\n")
	}
	if r.framing != nil {
		for _, h := range r.framing {
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		}
	} else if r.body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(r.body)
	b.Write(r.smuggled)
	return b.Bytes()
}

// reply is a response as read off the wire.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// exchange sends req on a fresh loopback connection and reads one response.
// The request is written concurrently with reading, so a server that answers
// before reading a large body (401, 413) is seen answering.
func exchange(addr string, req rawRequest) (reply, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return reply{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	data := req.bytes(addr)
	go func() {
		if _, err := conn.Write(data); err == nil && req.halfClose {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	method := req.method
	if req.bodyless {
		method = http.MethodHead
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return reply{}, fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: body}, err
}

// scimErrorProblem returns why r is not a SCIM Error response (RFC 7644
// §3.12) for its status, or "" when it is one.
func scimErrorProblem(r reply) string {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/scim+json" {
		return fmt.Sprintf("Content-Type %q, want application/scim+json", r.Header.Get("Content-Type"))
	}
	var body struct {
		Schemas []string `json:"schemas"`
		Status  any      `json:"status"`
		Detail  string   `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return "body is not JSON"
	}
	if !slices.Contains(body.Schemas, errorURN) {
		return fmt.Sprintf("schemas %v lack %s", body.Schemas, errorURN)
	}
	if s, ok := body.Status.(string); !ok || s != strconv.Itoa(r.Status) {
		return fmt.Sprintf("status %#v, want the string %q", body.Status, strconv.Itoa(r.Status))
	}
	return ""
}

// scimType returns the scimType of a SCIM Error body, or "".
func scimType(r reply) string {
	var body struct {
		ScimType string `json:"scimType"`
	}
	_ = json.Unmarshal(r.Body, &body)
	return body.ScimType
}

// jsonBody decodes a response body into a map (nil when it is not an object).
func jsonBody(r reply) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// mustJSON encodes v; the corpus only encodes maps and slices.
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// snippet shortens a body for a failure message.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
