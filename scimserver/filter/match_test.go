package filter

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestMatchUser(t *testing.T) {
	cases := []struct {
		reason string
		filter string
		want   bool
	}{
		// Okta and Entra ID lookups.
		{"Okta looks users up by userName, which is caseExact false", `userName eq "barbara.jensen@example.com"`, true},
		{"operators and attribute names are case-insensitive", `USERNAME EQ "BARBARA.JENSEN@EXAMPLE.COM"`, true},
		{"mixed-case operator", `userName Eq "Barbara.Jensen@Example.com"`, true},
		{"Entra's connection test filters on a random GUID and must find nothing", `id eq "9d3b5c8e-0b8c-4f1e-9f6a-3c1d2e4f5a6b"`, false},
		{"id is caseExact", `id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{"id matches exactly", `id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{"externalId is caseExact", `externalId eq "00u1abcdefgh"`, false},
		{"Entra matches on externalId", `externalId eq "00u1abcdEFGH"`, true},
		{"Entra combines eq with and", `userName eq "barbara.jensen@example.com" and externalId eq "00u1abcdEFGH"`, true},
		{"and fails when one side fails", `userName eq "barbara.jensen@example.com" and externalId eq "other"`, false},
		{"an escaped quote in the comparison value is decoded", `displayName eq "babs \"b\" jensen"`, true},
		{"a URN-prefixed core attribute", `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara"`, true},

		// Substring and ordering on strings.
		{"co is case-insensitive on displayName", `displayName co "JENSEN"`, true},
		{"sw", `userName sw "barbara."`, true},
		{"ew", `userName ew "@EXAMPLE.COM"`, true},
		{"ew that does not hold", `userName ew "@example.org"`, false},
		{"gt compares strings lexicographically, ignoring case", `userName gt "BARBARA"`, true},
		{"lt on strings", `userName lt "barbara"`, false},
		{"ge on equal strings", `userName ge "barbara.jensen@example.com"`, true},
		{"le on strings", `title le "Tour Guide"`, true},

		// Presence.
		{"pr on a set attribute", `title pr`, true},
		{"pr on an empty string is false", `nickName pr`, false},
		{"pr on an absent attribute is false", `preferredLanguage pr`, false},
		{"pr on an empty array is false", `groups pr`, false},
		{"pr on a complex attribute", `name pr`, true},
		{"pr on an absent multi-valued attribute", `addresses pr`, false},
		{"pr on a sub-attribute of a multi-valued attribute", `emails.type pr`, true},

		// ne and null.
		{"ne on an absent attribute holds", `preferredLanguage ne "en"`, true},
		{"ne on a different value holds", `title ne "Boss"`, true},
		{"ne on the same value (other case) fails", `userType ne "employee"`, false},
		{"ne on multi-valued holds only when no value is equal", `emails.type ne "work"`, false},
		{"ne on multi-valued with no equal value holds", `emails.type ne "other"`, true},
		{"eq null holds on an absent attribute", `preferredLanguage eq null`, true},
		{"eq null fails on a present attribute", `userName eq null`, false},
		{"ne null holds on a present attribute", `userName ne null`, true},

		// Booleans.
		{"boolean eq true", `active eq true`, true},
		{"boolean eq false", `active eq false`, false},
		{"boolean ne", `active ne false`, true},
		{"boolean literals are case-insensitive", `active eq TRUE`, true},
		{"a boolean given as a string, as Entra writes it", `active eq "True"`, true},

		// dateTime.
		{"dateTime gt compares instants", `meta.lastModified gt "2011-05-13T04:42:34Z"`, true},
		{"dateTime ge with fractional seconds", `meta.lastModified ge "2011-05-13T04:42:34.5Z"`, true},
		{"dateTime eq across time zones", `meta.lastModified eq "2011-05-13T06:42:34.5+02:00"`, true},
		{"dateTime lt", `meta.created lt "2010-01-23T04:56:22Z"`, false},
		{"dateTime le", `meta.created le "2010-01-23T04:56:22Z"`, true},
		{"dateTime sw compares the text", `meta.created sw "2010-01"`, true},
		{"meta.resourceType is caseExact", `meta.resourceType eq "user"`, false},

		// Multi-valued attributes.
		{"a complex multi-valued attribute compares its value", `emails co "example.com"`, true},
		{"... and fails when no value contains the text", `emails co "nowhere"`, false},
		{"emails.value is caseExact false", `emails.value eq "BJENSEN@example.com"`, true},
		{"sub-attribute of any element", `emails.type eq "home"`, true},
		{"value path with one condition", `emails[type eq "work"]`, true},
		{"value path: all conditions hold on one element", `emails[type eq "work" and value co "@example.com"]`, true},
		{"value path: conditions on different elements do not match", `emails[type eq "home" and primary eq true]`, false},
		{"value path: primary on the work email", `emails[type eq "work" and primary eq true]`, true},
		{"value path with three conditions", `emails[type eq "work" and value co "example" and primary eq true]`, true},
		{"value path with parentheses inside", `emails[type eq "work" and (value co "nowhere" or primary eq true)]`, true},
		{"value path with not", `emails[not (type eq "work")]`, true},
		{"value path with or", `emails[type eq "other" or type eq "home"]`, true},
		{"a stored \"True\" string matches primary eq true", `roles[primary eq true]`, true},
		{"Entra's roles[primary eq \"True\"]", `roles[primary eq "True"]`, true},
		{"value path ne", `phoneNumbers[type ne "work"]`, false},
		{"RFC example with parentheses", `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true},
		{"RFC example with not", `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, false},
		{"two value paths", `emails[type eq "work"] and not(emails[type eq "other"])`, true},
		{"or of which one holds", `title pr or userType eq "Intern"`, true},
		{"and of which one fails", `title pr and userType eq "Intern"`, false},
		{"not", `not (userName eq "someone")`, true},
		{"NOT in upper case", `NOT (userName eq "barbara.jensen@example.com")`, false},
		{"a long or chain", `title eq "a" or title eq "b" or title eq "c" or title eq "Tour Guide"`, true},

		// Enterprise extension.
		{"URN-prefixed extension attribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{"extension attribute without URN", `department eq "tour operations"`, true},
		{"extension sub-attribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{"manager.value is caseExact", `manager.value eq "26118915-6090-4610-87E4-49D8CA9F808D"`, false},
		{"a singular complex attribute compared without sub-attribute uses value", `manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{"value path on an extension attribute is not multi-valued but is complex", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName sw "john"]`, true},
		{"absent extension attribute", `organization pr`, false},
	}
	res := decode(t, sampleUserJSON)
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f, err := Parse(schema.UserResourceType, tc.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.filter, err)
			}
			if diff := cmp.Diff(tc.want, f.Match(res)); diff != "" {
				t.Errorf("Match(%q): -want +got:\n%s", tc.filter, diff)
			}
		})
	}
}

func TestMatchOtherResources(t *testing.T) {
	cases := []struct {
		reason string
		rt     *schema.ResourceType
		res    string
		filter string
		want   bool
	}{
		{"keys in the resource may have any case",
			schema.UserResourceType, `{"USERNAME": "bjensen", "Emails": [{"VALUE": "a@b.c", "TYPE": "work"}]}`,
			`userName eq "BJensen" and emails[type eq "work" and value eq "a@b.c"]`, true},
		{"the extension key may have any case",
			schema.UserResourceType, `{"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"Department": "x"}}`,
			`department eq "x"`, true},
		{"a multi-valued attribute stored as a single object still matches",
			schema.UserResourceType, `{"emails": {"value": "a@b.c", "type": "work"}}`,
			`emails[type eq "work"]`, true},
		{"a value of the wrong type never matches",
			schema.UserResourceType, `{"userName": 12, "active": "maybe"}`,
			`userName eq "12" or active eq true or active eq false`, false},
		{"Entra matches groups by displayName",
			schema.GroupResourceType, sampleGroupJSON, `displayName eq "tour guides"`, true},
		{"member value is caseExact",
			schema.GroupResourceType, sampleGroupJSON, `members[value eq "902C246B-6245-4190-8E05-00816BE7344A"]`, false},
		{"member by value path",
			schema.GroupResourceType, sampleGroupJSON, `members[value eq "902c246b-6245-4190-8e05-00816be7344a"]`, true},
		{"member by sub-attribute",
			schema.GroupResourceType, sampleGroupJSON, `members.value eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{"members compared without sub-attribute use value",
			schema.GroupResourceType, sampleGroupJSON, `members eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{"integer gt",
			numbersType(), `{"age": 42}`, `age gt 41`, true},
		{"integer stored as a float compares equal to an integer literal",
			numbersType(), `{"age": 42.0}`, `age eq 42`, true},
		{"decimal with exponent",
			numbersType(), `{"score": 1500}`, `score eq 1.5e3`, true},
		{"decimal le with a negative number",
			numbersType(), `{"score": -0.5}`, `score le -0.25`, true},
		{"number ne",
			numbersType(), `{"age": 42}`, `age ne 42`, false},
		{"binary supports eq",
			numbersType(), `{"photo": "QUJD"}`, `photo eq "QUJD"`, true},
		{"multi-valued simple attribute matches any value",
			numbersType(), `{"tags": ["red", "green"]}`, `tags eq "GREEN"`, true},
		{"multi-valued simple attribute with no equal value",
			numbersType(), `{"tags": ["red", "green"]}`, `tags eq "blue"`, false},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f, err := Parse(tc.rt, tc.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.filter, err)
			}
			if diff := cmp.Diff(tc.want, f.Match(decode(t, tc.res))); diff != "" {
				t.Errorf("Match(%q): -want +got:\n%s", tc.filter, diff)
			}
		})
	}
}

func TestMatchNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(map[string]any{}) {
		t.Errorf("a nil filter must match every resource")
	}
}
