package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// FuzzParse checks that no input crashes the parser or the evaluator, and that
// every error is a client-safe *scimerr.Error.
func FuzzParse(f *testing.F) {
	seeds := []string{
		// Okta and Entra ID.
		`userName eq "isaac.brock@example.com"`,
		`externalId eq "1cfd5f8e-a3b5-4a15-8a79-0d7b8d1f7a31"`,
		`id eq "00919288221112222"`,
		`displayName eq "Tour Guides"`,
		`userName eq "a" and externalId eq "b"`,
		`userName eq "a" and active eq true`,
		// Every operator.
		`title ne "x"`, `displayName co "jen"`, `userName sw "bar"`, `userName ew ".com"`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.created ge "2010-01-23T04:56:22Z"`,
		`meta.created lt "2030-01-01T00:00:00+01:00"`, `userName le "z"`, `title pr`,
		`preferredLanguage eq null`,
		// Logic, parentheses and value paths.
		`title pr or userType eq "Intern"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`emails[type eq "work" and value co "x" and primary eq true]`,
		`roles[primary eq "True"]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "B"`,
		`EMAILS[TYPE EQ "work"] AND NOT(ACTIVE EQ FALSE)`,
		// Hostile and malformed.
		strings.Repeat("(", 16) + `userName pr` + strings.Repeat(")", 16),
		strings.Repeat("(", 40) + `userName pr` + strings.Repeat(")", 40),
		strings.Repeat("not (", 20) + `userName pr` + strings.Repeat(")", 20),
		strings.Repeat("(", 5000),
		`userName eq "` + strings.Repeat("a", 5000) + `"`,
		strings.Repeat(`title pr or `, 400) + `title pr`,
		`userName eq "unterminated`, `emails[type eq "work"`, `emails[type eq "work"]]`, `]`, `[`,
		`emails[type[value eq "x"] pr]`, `userName eq "\u00zz"`, `userName eq "\`, `"`,
		`userName eq "ü日本🙂"`, "userName eq \"\xff\xfe\"", "userName\x00eq \"a\"",
		`age gt 1e999999`, `userName eq -0.0e-0`, `emails[]`, `()`, `not ()`, `x0 pr`,
		`emails[x0 pr]`, `emails[type eq "work"].value eq "x"`, `emails[type eq "work"].value pr or x[y pr].z`, `userName eq "a" and`, `and`, `or or or`, ` `,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	user := decode(f, sampleUserJSON)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Parse(schema.UserResourceType, s)
		if err != nil {
			checkSafeError(t, err, "invalidFilter")
		} else {
			flt.Match(user)
			flt.Equalities()
		}
		if flt, err := ParseWith(schema.UserResourceType, s, schema.Lenient()); err != nil {
			checkSafeError(t, err, "invalidFilter")
		} else {
			flt.Match(user)
		}
		if vp, err := ParseValuePath(schema.UserResourceType, s); err != nil {
			checkSafeError(t, err, "")
		} else if vp.Filter != nil {
			for _, e := range []any{user["emails"], user["roles"]} {
				for _, elem := range e.([]any) {
					vp.Filter.Match(elem.(map[string]any))
				}
			}
			vp.Filter.Conditions()
			vp.Filter.OneOf("value")
		}
		if _, err := Values(schema.UserResourceType, user, s); err != nil {
			checkSafeError(t, err, "invalidPath")
		}
	})
}

func checkSafeError(t *testing.T, err error, scimType string) {
	t.Helper()
	var e *scimerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, want *scimerr.Error", err, err)
	}
	if scimType != "" && e.ScimType != scimType {
		t.Fatalf("scimType %q, want %q", e.ScimType, scimType)
	}
	for _, leak := range []string{"parse conflict", "internal", "panic", "goroutine", ".go:"} {
		if strings.Contains(e.Detail, leak) {
			t.Fatalf("detail %q leaks %q", e.Detail, leak)
		}
	}
	if len(e.Detail) > 300 {
		t.Fatalf("detail is %d bytes long", len(e.Detail))
	}
}
