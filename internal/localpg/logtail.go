package localpg

import (
	"strings"
	"sync"
)

// logTailSize is how much recent output startup errors quote: enough for
// PostgreSQL's FATAL line and its hint.
const logTailSize = 2048

// logTail keeps the last bytes written to it, so an error about a failed
// initdb or postgres can say why without the caller having kept the log.
type logTail struct {
	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer; it never fails.
func (t *logTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - logTailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept output, trimmed, starting at a line boundary.
func (t *logTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) == logTailSize {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.TrimSpace(s)
}

// annotate appends the kept output to a message, when there is any.
func (t *logTail) annotate(msg string) string {
	if out := t.String(); out != "" {
		return msg + "; output:\n" + out
	}
	return msg
}
