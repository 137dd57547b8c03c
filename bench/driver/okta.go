package driver

import (
	"fmt"
	"net/url"
)

// The request bodies Okta sends (test/conformance/okta_test.go).

const (
	schemaUser  = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaPatch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// oktaUser is Okta's create body, password included (the server must drop it).
func oktaUser(userName, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []string{schemaUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":      []map[string]any{{"primary": true, "value": userName, "type": "work"}},
		"displayName": "Ada Lovelace",
		"locale":      "en-US",
		"externalId":  externalID,
		"groups":      []any{},
		"password":    "t1meMa$heen",
		"active":      true,
	}
}

// oktaGroup is Okta's group push create body.
func oktaGroup(displayName string) map[string]any {
	return map[string]any{"schemas": []string{schemaGroup}, "displayName": displayName, "members": []any{}}
}

// oktaLookup is the filter Okta sends before creating a user.
func oktaLookup(userName string) string {
	return "/Users?filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", userName)) + "&startIndex=1&count=100"
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{schemaPatch}, "Operations": ops}
}

// oktaSetActive is Okta's deactivation (or reactivation): a no-path replace.
func oktaSetActive(active bool) map[string]any {
	return patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": active}})
}

// oktaMemberAdd adds ids to a group.
func oktaMemberAdd(ids []string) map[string]any {
	values := make([]map[string]any, len(ids))
	for i, id := range ids {
		values[i] = map[string]any{"value": id}
	}
	return patchOp(map[string]any{"op": "add", "path": "members", "value": values})
}

// oktaMemberRemove removes one member by a filtered path, with no value.
func oktaMemberRemove(id string) map[string]any {
	return patchOp(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)})
}
