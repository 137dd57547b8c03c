package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// oktaUser is the body Okta POSTs to create a user (Okta SCIM 2.0 guide,
// "Create the user"), with the Runscope SPEC test's values.
func oktaUser(userName, given, family, externalID string) string {
	return fmt.Sprintf(`{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": %q,
  "name": {"givenName": %q, "familyName": %q},
  "emails": [{"primary": true, "value": %q, "type": "work"}],
  "displayName": "%s %s",
  "locale": "en-US",
  "externalId": %q,
  "groups": [],
  "password": "1mz050nq",
  "active": true
}`, userName, given, family, userName, given, family, externalID)
}

const oktaPassword = "1mz050nq"

// oktaCreate runs Okta's create sequence: look the userName up, expect no
// match, POST.
func oktaCreate(t testing.TB, ep *testharness.Endpoint, userName, given, family, externalID string) map[string]any {
	t.Helper()
	page := search(t, ep, filterQuery("Users", fmt.Sprintf("userName eq %q", userName), "startIndex=1", "count=100"))
	equal(t, "totalResults before create", page.Total, 0)
	return post(t, ep, "Users", oktaUser(userName, given, family, externalID))
}

// TestOktaSpecUsersEndpoint: the SPEC test's "Test Users endpoint" and "Get
// User by ID" steps, on an endpoint seeded with one complete user.
func TestOktaSpecUsersEndpoint(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seeded := oktaCreate(t, ep, "Runscope300Thelma@atko.com", "Runscope300Thelma", "Morris", "00ujl29u0le5T6Aj10h7")

	page := search(t, ep, "/Users?count=1&startIndex=1")
	equal(t, "totalResults", page.Total, 1)
	equal(t, "startIndex", page.StartIndex, 1)
	u := page.Resources[0]
	for _, check := range [][2]string{
		{str(u, "id"), str(seeded, "id")},
		{str(u, "userName"), "Runscope300Thelma@atko.com"},
		{str(u, "name", "givenName"), "Runscope300Thelma"},
		{str(u, "name", "familyName"), "Morris"},
		{str(u, "emails", 0, "value"), "Runscope300Thelma@atko.com"},
	} {
		equal(t, "listed user attribute", check[0], check[1])
	}
	equal(t, "active", at(u, "active"), any(true))

	byID := get(t, ep, "/Users/"+str(seeded, "id"))
	equal(t, "userName by id", str(byID, "userName"), "Runscope300Thelma@atko.com")
	equal(t, "externalId by id", str(byID, "externalId"), "00ujl29u0le5T6Aj10h7")
	equal(t, "meta.resourceType", str(byID, "meta", "resourceType"), "User")
}

// TestOktaSpecUnknownUsers: a userName filter that matches nothing is 200 with
// totalResults 0; unknown ids of any shape are 404 with the Error schema.
func TestOktaSpecUnknownUsers(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	oktaCreate(t, ep, "someone@atko.com", "Some", "One", "00u1")

	page := search(t, ep, filterQuery("Users", `userName eq "Runscope-does-not-exist@atko.com"`))
	equal(t, "totalResults", page.Total, 0)
	equal(t, "Resources", len(page.Resources), 0)

	for _, id := range []string{newID(), "00919288221112222", "010101", "not-a-uuid"} {
		expectError(t, ep.Do(t, "GET", "/Users/"+id, nil), 404, "")
	}
}

// TestOktaSpecCreateUser: create is 201 with every attribute echoed, Location
// and ETag; the user can be read back; the password is neither echoed nor
// stored.
func TestOktaSpecCreateUser(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u := oktaCreate(t, ep, "Runscope010Ruth@atko.com", "Runscope010Ruth", "Fuller", "00ujl29u0le5T6Aj10h7")
	for _, check := range [][2]string{
		{str(u, "userName"), "Runscope010Ruth@atko.com"},
		{str(u, "name", "givenName"), "Runscope010Ruth"},
		{str(u, "name", "familyName"), "Fuller"},
		{str(u, "displayName"), "Runscope010Ruth Fuller"},
		{str(u, "locale"), "en-US"},
		{str(u, "externalId"), "00ujl29u0le5T6Aj10h7"},
		{str(u, "emails", 0, "value"), "Runscope010Ruth@atko.com"},
		{str(u, "emails", 0, "type"), "work"},
		{str(u, "meta", "resourceType"), "User"},
	} {
		equal(t, "created attribute", check[0], check[1])
	}
	equal(t, "emails[0].primary", at(u, "emails", 0, "primary"), any(true))
	equal(t, "active", at(u, "active"), any(true))
	if _, has := u["password"]; has {
		t.Fatalf("the password was echoed: %v", u)
	}
	if !strings.Contains(strings.Join(strs(u["schemas"]), " "), userURN) {
		t.Fatalf("schemas %v lack the User schema", u["schemas"])
	}

	back := get(t, ep, "/Users/"+str(u, "id"))
	equal(t, "userName read back", str(back, "userName"), "Runscope010Ruth@atko.com")

	stored := storedUser(t, ep, str(u, "id"))
	equal(t, "stored userName", stored.Spec.UserName, "Runscope010Ruth@atko.com")
	equal(t, "stored active", stored.Spec.Active, true)
	equal(t, "stored endpoint", stored.Spec.Endpoint, ep.Name)
	if raw := rawObject(t, stored); strings.Contains(raw, oktaPassword) || strings.Contains(strings.ToLower(rawObject(t, &stored.Spec)), "password") {
		t.Fatalf("the ScimUser holds the password: %s", raw)
	}
}

// TestOktaSpecDuplicateUser: creating the same userName again, in any case,
// is 409 with scimType uniqueness, and no second user appears.
func TestOktaSpecDuplicateUser(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	first := oktaCreate(t, ep, "Runscope020Dup@atko.com", "Dup", "Licate", "00u2")
	expectError(t, ep.Do(t, "POST", "/Users", oktaUser("Runscope020Dup@atko.com", "Dup", "Licate", "00u2")), 409, "uniqueness")
	expectError(t, ep.Do(t, "POST", "/Users", oktaUser("RUNSCOPE020DUP@ATKO.COM", "Dup", "Licate", "00u3")), 409, "uniqueness")
	page := search(t, ep, "/Users")
	equalSlices(t, "users", ids(page.Resources), []string{str(first, "id")})
}

// TestOktaSpecUserNameCaseInsensitive: the SPEC test looks the created user up
// with an upper-cased userName and expects to find it (caseExact false).
func TestOktaSpecUserNameCaseInsensitive(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u := oktaCreate(t, ep, "Runscope030Case@atko.com", "Case", "Check", "00u4")
	page := search(t, ep, filterQuery("Users", `userName eq "RUNSCOPE030CASE@ATKO.COM"`, "startIndex=1", "count=100"))
	equal(t, "totalResults", page.Total, 1)
	equal(t, "found id", str(page.Resources[0], "id"), str(u, "id"))
	equal(t, "userName keeps its case", str(page.Resources[0], "userName"), "Runscope030Case@atko.com")
}

// TestOktaSpecGroupsAndAuth: GET /Groups is 200, and a wrong, missing or
// non-bearer credential is 401 with the Error schema and status "401".
func TestOktaSpecGroupsAndAuth(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	search(t, ep, "/Groups")
	search(t, ep, "/Groups?startIndex=1&count=2")

	for _, tc := range []struct {
		reason, token string
		headers       []string
	}{
		{reason: "wrong token", token: "not-the-token-" + ep.Token},
		{reason: "no token", token: ""},
		{reason: "token prefix", token: ep.Token[:len(ep.Token)-1]},
		{reason: "basic scheme", token: "", headers: []string{"Authorization", "Basic " + ep.Token}},
		{reason: "token without scheme", token: "", headers: []string{"Authorization", ep.Token}},
	} {
		for _, path := range []string{"/Users", "/Groups", "/Users/00919288221112222", "/ServiceProviderConfig"} {
			r := ep.DoToken(t, tc.token, "GET", path, nil, tc.headers...)
			expectError(t, r, 401, "")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: 401 on %s without WWW-Authenticate", tc.reason, path)
			}
		}
	}
	// The bearer scheme is case-insensitive (RFC 6750).
	expectStatus(t, ep.DoToken(t, "", "GET", "/Users", nil, "Authorization", "bearer "+ep.Token), 200)
}

// TestOktaTestConnection: "Test API Credentials" lists two users and groups.
func TestOktaTestConnection(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	for _, path := range []string{"/Users?startIndex=1&count=2", "/Groups?startIndex=1&count=2"} {
		page := search(t, ep, path)
		equal(t, path+" totalResults", page.Total, 0)
		equal(t, path+" startIndex", page.StartIndex, 1)
	}
	for i := range 3 {
		post(t, ep, "Users", oktaUser(fmt.Sprintf("conn%d@atko.com", i), "Conn", "Test", fmt.Sprintf("00uc%d", i)))
	}
	page := search(t, ep, "/Users?startIndex=1&count=2")
	equal(t, "totalResults", page.Total, 3)
	equal(t, "itemsPerPage", page.ItemsPerPage, 2)
}

// TestOktaImportPaging: Okta imports with startIndex=1&count=100 and advances
// startIndex by 100 until totalResults; every user is seen exactly once.
func TestOktaImportPaging(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	const n = 250
	want := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, err := send(ep, "POST", "/Users", oktaUser(fmt.Sprintf("import%03d@atko.com", i), "Import", fmt.Sprint(i), fmt.Sprintf("00ui%03d", i)))
				var created struct{ ID string }
				if err != nil || r.Status != 201 || json.Unmarshal(r.Body, &created) != nil {
					t.Errorf("creating user %d: %v %d %s", i, err, r.Status, r.Body)
					continue
				}
				mu.Lock()
				want[created.ID] = false
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	pages := 0
	for start := 1; ; start += 100 {
		page := search(t, ep, fmt.Sprintf("/Users?startIndex=%d&count=100", start))
		pages++
		equal(t, "totalResults", page.Total, n)
		equal(t, "startIndex", page.StartIndex, start)
		equal(t, "itemsPerPage", page.ItemsPerPage, min(100, n-start+1))
		for _, u := range page.Resources {
			id := str(u, "id")
			seen, known := want[id]
			if !known || seen {
				t.Fatalf("page at %d: user %s unknown or seen twice", start, id)
			}
			want[id] = true
			if !strings.HasPrefix(str(u, "userName"), "import") || str(u, "name", "familyName") == "" {
				t.Fatalf("imported user lacks attributes: %v", u)
			}
		}
		if start+100 > page.Total {
			break
		}
	}
	equal(t, "pages", pages, 3)
	for id, seen := range want {
		if !seen {
			t.Fatalf("user %s never imported", id)
		}
	}
}

// TestOktaProfileUpdate: Okta reads the user and PUTs it back whole, with id,
// meta, groups, password and an empty middleName; the changes are stored.
func TestOktaProfileUpdate(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u := oktaCreate(t, ep, "test.user@okta.local", "Test", "User", "00u1dhhb1fkIGP7RL1d8")
	id := str(u, "id")
	cur := get(t, ep, "/Users/"+id)
	put := fmt.Sprintf(`{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": %q,
  "userName": "test.user@okta.local",
  "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
  "emails": [{"primary": true, "value": "another.user@okta.local", "type": "work", "display": "another.user@okta.local"}],
  "displayName": "Another User",
  "locale": "en-US",
  "externalId": "00u1dhhb1fkIGP7RL1d8",
  "groups": [],
  "password": "1mz050nq",
  "active": true,
  "meta": {"resourceType": "User", "created": %q, "lastModified": %q}
}`, id, str(cur, "meta", "created"), str(cur, "meta", "lastModified"))
	r := ep.Do(t, "PUT", "/Users/"+id, put)
	got := ok(t, r, 200)
	equal(t, "id", str(got, "id"), id)
	equal(t, "givenName", str(got, "name", "givenName"), "Another")
	equal(t, "email", str(got, "emails", 0, "value"), "another.user@okta.local")
	equal(t, "displayName", str(got, "displayName"), "Another User")
	if r.Header.Get("ETag") == str(cur, "meta", "version") {
		t.Fatalf("ETag did not change on update: %s", r.Header.Get("ETag"))
	}
	stored := storedUser(t, ep, id)
	equal(t, "stored givenName", stored.Spec.Name.GivenName, "Another")
	equal(t, "stored email", stored.Spec.Emails[0].Value, "another.user@okta.local")
	equal(t, "stored active", stored.Spec.Active, true)
	if strings.Contains(rawObject(t, stored), oktaPassword) {
		t.Fatal("the PUT password was stored")
	}
}

// TestOktaDeactivateReactivate: catalogue apps deactivate with a no-path
// replace of active and reactivate the same way; the state is stored.
func TestOktaDeactivateReactivate(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(oktaCreate(t, ep, "leaver@atko.com", "Lea", "Ver", "00u5"), "id")
	for _, active := range []bool{false, true, false} {
		body := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "value": {"active": %t}}]}`, active)
		got := ok(t, ep.Do(t, "PATCH", "/Users/"+id, body), 200)
		equal(t, "active in response", at(got, "active"), any(active))
		equal(t, "active read back", at(get(t, ep, "/Users/"+id), "active"), any(active))
		equal(t, "stored active", storedUser(t, ep, id).Spec.Active, active)
		equal(t, "userName kept", str(got, "userName"), "leaver@atko.com")
		equal(t, "givenName kept", str(got, "name", "givenName"), "Lea")
	}
	page := search(t, ep, filterQuery("Users", `active eq false`))
	equalSlices(t, "inactive users", ids(page.Resources), []string{id})
}

// TestOktaWizardDeactivateByPut: apps built with Okta's integration wizard
// send everything as PUT, including active:false and back.
func TestOktaWizardDeactivateByPut(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(oktaCreate(t, ep, "wizard@atko.com", "Wiz", "Ard", "00u6"), "id")
	for _, active := range []bool{false, true} {
		body := strings.Replace(oktaUser("wizard@atko.com", "Wiz", "Ard", "00u6"), `"active": true`, fmt.Sprintf(`"active": %t`, active), 1)
		body = strings.Replace(body, "{", fmt.Sprintf(`{"id": %q,`, id), 1)
		got := ok(t, ep.Do(t, "PUT", "/Users/"+id, body), 200)
		equal(t, "active in response", at(got, "active"), any(active))
		equal(t, "stored active", storedUser(t, ep, id).Spec.Active, active)
	}
}

// TestOktaGroupPush: group push creates a group with members:[], renames it
// with a no-path replace carrying the id, adds, removes and replaces
// members, and deletes it; membership shows on users and in the stored
// ScimMembership shards.
func TestOktaGroupPush(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u1 := str(oktaCreate(t, ep, "push1@atko.com", "Push", "One", "00up1"), "id")
	u2 := str(oktaCreate(t, ep, "push2@atko.com", "Push", "Two", "00up2"), "id")
	u3 := str(oktaCreate(t, ep, "push3@atko.com", "Push", "Three", "00up3"), "id")

	g := post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []}`)
	gid := str(g, "id")
	equal(t, "displayName", str(g, "displayName"), "Test SCIMv2")
	equal(t, "members", len(values(g["members"])), 0)
	equal(t, "stored displayName", storedGroup(t, ep, gid).Spec.DisplayName, "Test SCIMv2")
	page := search(t, ep, filterQuery("Groups", `displayName eq "Test SCIMv2"`))
	equalSlices(t, "group found by displayName", ids(page.Resources), []string{gid})

	// Rename: the value carries an id, which is ignored (here a wrong one).
	renamed := patchOK(t, ep, "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "value": {"id": %q, "displayName": "Test SCIMv2 renamed"}}]}`, newID()))
	equal(t, "id after rename", str(renamed, "id"), gid)
	equal(t, "displayName after rename", str(renamed, "displayName"), "Test SCIMv2 renamed")
	equal(t, "stored displayName", storedGroup(t, ep, gid).Spec.DisplayName, "Test SCIMv2 renamed")

	// Add members.
	patchOK(t, ep, "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "path": "members",
    "value": [{"value": %q, "display": "push1@atko.com"}, {"value": %q, "display": "push2@atko.com"}]}]}`, u1, u2))
	equalSlices(t, "members after add", values(get(t, ep, "/Groups/"+gid)["members"]), sorted(u1, u2))
	equalSlices(t, "stored members after add", storedMembers(t, ep, gid), sorted(u1, u2))
	ug := get(t, ep, "/Users/"+u1)
	equalSlices(t, "groups of user 1", values(ug["groups"]), []string{gid})
	equal(t, "group display on user", str(ug, "groups", 0, "display"), "Test SCIMv2 renamed")

	// Remove one member with a filtered path and no value.
	patchOK(t, ep, "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "remove", "path": "members[value eq \"%s\"]"}]}`, u1))
	equalSlices(t, "members after remove", values(get(t, ep, "/Groups/"+gid)["members"]), []string{u2})
	equalSlices(t, "stored members after remove", storedMembers(t, ep, gid), []string{u2})
	equal(t, "groups of removed user", len(values(get(t, ep, "/Users/"+u1)["groups"])), 0)

	// Replace all members.
	patchOK(t, ep, "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "path": "members",
    "value": [{"value": %q, "display": "push1@atko.com"}, {"value": %q, "display": "push3@atko.com"}]}]}`, u1, u3))
	members := get(t, ep, "/Groups/"+gid)["members"]
	equalSlices(t, "members after replace", values(members), sorted(u1, u3))
	equalSlices(t, "stored members after replace", storedMembers(t, ep, gid), sorted(u1, u3))
	for _, m := range members.([]any) {
		if !strings.HasSuffix(str(m, "$ref"), "/Users/"+str(m, "value")) || str(m, "display") == "" {
			t.Fatalf("member rendered without $ref or display: %v", m)
		}
	}

	// A PUT of the whole group replaces name and membership.
	put := ok(t, ep.Do(t, "PUT", "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": %q, "displayName": "Test SCIMv2 put", "members": [{"value": %q, "display": "push2@atko.com"}]}`, gid, u2)), 200)
	equal(t, "displayName after PUT", str(put, "displayName"), "Test SCIMv2 put")
	equalSlices(t, "members after PUT", values(put["members"]), []string{u2})
	equalSlices(t, "stored members after PUT", storedMembers(t, ep, gid), []string{u2})

	// Delete.
	r := ep.Do(t, "DELETE", "/Groups/"+gid, nil)
	expectStatus(t, r, 204)
	if len(r.Body) != 0 {
		t.Fatalf("204 with a body: %s", r.Body)
	}
	expectError(t, ep.Do(t, "GET", "/Groups/"+gid, nil), 404, "")
	equal(t, "stored shards after delete", len(storedMembers(t, ep, gid)), 0)
	equal(t, "groups of a former member", len(values(get(t, ep, "/Users/"+u2)["groups"])), 0)
	equal(t, "groups listed", search(t, ep, "/Groups").Total, 0)
	// The displayName is free again.
	post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2 put", "members": []}`)
}

// TestOktaPasswordNeverStored: the password Okta sends on create, PUT and
// PATCH (with and without path) is accepted, never returned and never stored.
func TestOktaPasswordNeverStored(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(oktaCreate(t, ep, "secret@atko.com", "Sec", "Ret", "00u7"), "id")
	put := strings.Replace(oktaUser("secret@atko.com", "Sec", "Ret", "00u7"), oktaPassword, "put-Pa55word", 1)
	expectStatus(t, ep.Do(t, "PUT", "/Users/"+id, put), 200)
	for _, body := range []string{
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "password", "value": "patch-Pa55word"}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"password": "nopath-Pa55word", "active": true}}]}`,
	} {
		r := ep.Do(t, "PATCH", "/Users/"+id, body)
		expectStatus(t, r, 200)
		if strings.Contains(string(r.Body), `"password"`) || strings.Contains(string(r.Body), "Pa55word") {
			t.Fatalf("PATCH response shows a password: %s", r.Body)
		}
	}
	for _, path := range []string{"/Users/" + id, "/Users/" + id + "?attributes=password", "/Users?attributes=password,userName"} {
		if r := ep.Do(t, "GET", path, nil); r.Status != 200 || strings.Contains(string(r.Body), "Pa55word") ||
			strings.Contains(string(r.Body), `"password"`) {
			t.Fatalf("GET %s shows a password: %s", path, r.Body)
		}
	}
	stored := storedUser(t, ep, id)
	raw, spec := rawObject(t, stored), rawObject(t, &stored.Spec)
	for _, secret := range []string{oktaPassword, "Pa55word"} {
		if strings.Contains(raw, secret) {
			t.Fatalf("the ScimUser holds %q: %s", secret, raw)
		}
	}
	if strings.Contains(strings.ToLower(spec), "password") {
		t.Fatalf("the ScimUser spec has a password attribute: %s", spec)
	}
	page := search(t, ep, filterQuery("Users", `password pr`))
	equal(t, "users with a password", page.Total, 0)
}
