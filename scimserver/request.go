package scimserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// readBody reads the (already size-capped) request body. A body over the cap
// is 413; in strict mode a media type other than SCIM's or JSON's is 415; a
// body that is not UTF-8 is 400.
func readBody(r *http.Request, strict bool) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" || strict {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/scim+json" && mt != "application/json" && (strict || !strings.HasSuffix(mt, "json") && mt != "text/plain") {
			return nil, errorf(http.StatusUnsupportedMediaType, "", "Content-Type must be application/scim+json or application/json")
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", tooBig.Limit)
		}
		return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "the request body could not be read")
	}
	// encoding/json would replace invalid bytes with U+FFFD and store a
	// userName the identity provider never sent; JSON must be UTF-8 (RFC 8259 §8.1).
	if !utf8.Valid(data) {
		return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "the request body is not valid UTF-8")
	}
	return data, nil
}

// decodeResource decodes a JSON object body into a map.
func decodeResource(data []byte) (map[string]any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "the request body is not a JSON object")
	}
	if dec.More() {
		return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "the request body has trailing data")
	}
	return m, nil
}

// listParams are the query parameters of a list request (RFC 7644 §3.4.2).
type listParams struct {
	filter              string
	startIndex, count   int
	sortBy              string
	descending          bool
	attributes, exclude []string
}

// parseListParams parses and checks a list request's parameters, so that
// a request that will be refused is refused before any resource is read or
// rendered (an unknown sortBy once cost rendering every user).
func parseListParams(r *http.Request, rt *schema.ResourceType, maxPage int) (listParams, *Error) {
	q := r.URL.Query()
	p := listParams{filter: q.Get("filter"), startIndex: 1, count: maxPage, sortBy: q.Get("sortBy")}
	if p.sortBy != "" {
		if _, err := filter.ResolvePath(rt, p.sortBy); err != nil {
			return p, errorf(http.StatusBadRequest, scimInvalidPath, "sortBy names an unknown attribute")
		}
	}
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, errorf(http.StatusBadRequest, scimInvalidValue, "startIndex must be an integer")
		}
		p.startIndex = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, errorf(http.StatusBadRequest, scimInvalidValue, "count must be an integer")
		}
		p.count = min(max(n, 0), maxPage)
	}
	switch strings.ToLower(q.Get("sortOrder")) {
	case "", "ascending":
	case "descending":
		p.descending = true
	default:
		return p, errorf(http.StatusBadRequest, scimInvalidValue, "sortOrder must be ascending or descending")
	}
	p.attributes, p.exclude = attrList(q.Get("attributes")), attrList(q.Get("excludedAttributes"))
	return p, nil
}

func attrList(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// checkIfMatch enforces If-Match against the current resource version (412 on mismatch).
func checkIfMatch(r *http.Request, resourceVersion string) *Error {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" {
		return nil
	}
	current := etag(resourceVersion)
	for _, tag := range strings.Split(im, ",") {
		tag = strings.TrimSpace(tag)
		if tag == current || "W/"+tag == current {
			return nil
		}
	}
	return errorf(http.StatusPreconditionFailed, "", "the resource has changed (ETag mismatch)")
}
