package testharness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// namespaceSeq numbers the namespaces of one test process, so that a test
// run twice (-count) or two tests whose names shorten alike never share one.
var namespaceSeq atomic.Int64

// namespaceNameMax bounds the part of a namespace name taken from the test
// name: tenant databases derive identifiers from it, and PostgreSQL cuts
// identifiers at 63 bytes.
const namespaceNameMax = 40

// Namespace returns a namespace name of t's own, readable in the API
// server's objects: the test name as a DNS label, shortened, plus a
// sequence number. Operator.NewEndpoint creates the namespace.
func Namespace(t testing.TB) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(t.Name()) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > namespaceNameMax {
		s = strings.TrimRight(s[:namespaceNameMax], "-")
	}
	return fmt.Sprintf("%s-%d", s, namespaceSeq.Add(1))
}

// UniqueName returns prefix plus a random suffix, so that tests run more
// than once against one control plane (-count, benchmarks that run their
// body again) never meet their own leftovers.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
