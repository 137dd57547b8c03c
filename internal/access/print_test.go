package access

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableQuotesWhatATerminalWouldAct: a userName or displayName the IdP
// sent with escape sequences (erase line, an OSC 52 clipboard write), a
// carriage return or a new line is quoted in the table, so it cannot erase
// or forge the lines around it.
func TestTableQuotesWhatATerminalWouldAct(t *testing.T) {
	r := &UserReport{
		User:   UserRef{Namespace: "ns", Endpoint: "idp", ID: "user-1", UserName: "eve\x1b[2K\r\x1b]52;c;Y3VybCBldmlsfHNo\x07mallory", Active: true},
		Groups: []GroupRef{{DisplayName: "ops\nActive:    no (deactivated)", ID: "g1"}},
		Roles:  []string{"viewer\tforged"},
	}
	var out bytes.Buffer
	if err := Print(&out, "table", r); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\x1b\x07\r") || strings.Contains(s, "\nActive:    no") || strings.Contains(s, "viewer\tforged") {
		t.Fatalf("the table carries the IdP's control characters raw:\n%q", s)
	}
	if !strings.Contains(s, `"eve\x1b[2K\r`) {
		t.Fatalf("the userName is not shown quoted:\n%s", s)
	}
}
