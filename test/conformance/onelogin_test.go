package conformance

import (
	"fmt"
	"strings"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// oneLoginParams are the values OneLogin substitutes into a SCIM JSON
// template for one user; a parameter the user has no value for is "".
type oneLoginParams struct {
	userName, first, last, title, department, mobile, city, managerID, managerFirst, managerLast string
}

// oneLoginUser renders a SCIM v2 Enterprise template as OneLogin's SCIM
// provisioner sends it: the template's JSON text with each parameter
// substituted inside its quoted string ("Creating SCIM Custom Connectors",
// OneLogin KB0013904; "Define Your SCIM User Schema", developers.onelogin.com).
func oneLoginUser(p oneLoginParams) string {
	return fmt.Sprintf(`{
  "schemas": [%q, %q],
  "userName": %q,
  "name": {"givenName": %q, "familyName": %q, "formatted": "%s %s"},
  "title": %q,
  "emails": [{"value": %q, "type": "work", "primary": true}],
  "phoneNumbers": [{"value": %q, "type": "mobile"}],
  "addresses": [{"locality": %q, "region": "", "country": ""}],
  %q: {
    "department": %q,
    "manager": {"value": %q, "displayName": "%s %s"}
  }
}`, userURN, enterpriseURN, p.userName, p.first, p.last, p.first, p.last, p.title, p.userName, p.mobile, p.city,
		enterpriseURN, p.department, p.managerID, p.managerFirst, p.managerLast)
}

// TestOneLoginProvisioning replays what OneLogin's SCIM provisioner sends
// ("Implement RESTful SCIM APIs for Your App", developers.onelogin.com):
// the connection check (a userName filter it knows matches nothing), then,
// per user, a userName lookup and a create from the template. A user whose
// mobile number, address and manager are not set arrives with blank values:
// Lenient stores the user without them (BlankSubAttributes), Strict stores
// them as sent. A template still on SCIM 1.1 is refused by both with 400
// invalidSyntax and nothing is stored (docs/compatibility.md, OneLogin).
func TestOneLoginProvisioning(t *testing.T) {
	t.Parallel()
	ns := testharness.Namespace(t)
	lenient := op.NewEndpoint(t, ns, "onelogin")
	strict := op.NewEndpoint(t, ns, "onelogin-strict", func(e *scimv1.ScimEndpoint) { e.Spec.Compatibility = scimv1.CompatibilityStrict })

	for mode, ep := range map[string]*testharness.Endpoint{"Lenient": lenient, "Strict": strict} {
		page := search(t, ep, filterQuery("Users", fmt.Sprintf("userName eq %q", "onelogin-"+newID()+"@example.com")))
		equal(t, mode+": connection check totalResults", page.Total, 0)

		blank := oneLoginParams{userName: "ada@example.com", first: "Ada", last: "Lovelace"}
		equal(t, mode+": lookup before create", search(t, ep, filterQuery("Users", `userName eq "ada@example.com"`)).Total, 0)
		u := storedUser(t, ep, str(post(t, ep, "Users", oneLoginUser(blank)), "id")).Spec
		equal(t, mode+": name", *u.Name, scimv1.Name{GivenName: "Ada", FamilyName: "Lovelace", Formatted: "Ada Lovelace"})
		equal(t, mode+": primary email", u.PrimaryEmail(), "ada@example.com")
		equal(t, mode+": title", u.Title, "")
		if mode == "Lenient" {
			if len(u.PhoneNumbers) != 0 || len(u.Addresses) != 0 || u.Enterprise != nil {
				t.Errorf("Lenient stored blank template values: phoneNumbers %v, addresses %v, enterprise %+v", u.PhoneNumbers, u.Addresses, u.Enterprise)
			}
		} else {
			equalSlices(t, "Strict: phoneNumbers", u.PhoneNumbers, []scimv1.MultiValuedAttribute{{Type: "mobile"}})
			equalSlices(t, "Strict: addresses", u.Addresses, []scimv1.Address{{}})
			if u.Enterprise == nil || u.Enterprise.Manager == nil || *u.Enterprise.Manager != (scimv1.Manager{DisplayName: " "}) {
				t.Errorf("Strict: enterprise %+v, want the manager as sent: displayName \" \" and no value", u.Enterprise)
			}
		}

		full := oneLoginParams{userName: "grace@example.com", first: "Grace", last: "Hopper", title: "Rear Admiral",
			department: "Navy", mobile: "+1 555 0100", city: "Arlington", managerID: "00u-boss", managerFirst: "Chester", managerLast: "Nimitz"}
		g := storedUser(t, ep, str(post(t, ep, "Users", oneLoginUser(full)), "id")).Spec
		equal(t, mode+": title", g.Title, "Rear Admiral")
		equalSlices(t, mode+": phoneNumbers", g.PhoneNumbers, []scimv1.MultiValuedAttribute{{Value: "+1 555 0100", Type: "mobile"}})
		equalSlices(t, mode+": addresses", g.Addresses, []scimv1.Address{{Locality: "Arlington"}})
		if g.Enterprise == nil || g.Enterprise.Department != "Navy" || g.Enterprise.Manager == nil ||
			*g.Enterprise.Manager != (scimv1.Manager{Value: "00u-boss", DisplayName: "Chester Nimitz"}) {
			t.Errorf("%s: enterprise %+v, want department Navy and manager 00u-boss", mode, g.Enterprise)
		}

		// The "OneLogin Core User Schema" of the SCIM 1.1 connectors.
		scim11 := strings.Replace(oneLoginUser(oneLoginParams{userName: "linus@example.com", first: "Linus", last: "Pauling"}),
			fmt.Sprintf("[%q, %q]", userURN, enterpriseURN), `["urn:scim:schemas:core:1.0"]`, 1)
		e := expectError(t, ep.Do(t, "POST", "/Users", scim11), 400, "invalidSyntax")
		if detail := str(e, "detail"); !strings.Contains(detail, userURN) {
			t.Errorf("%s: SCIM 1.1 template: detail %q does not name %s", mode, detail, userURN)
		}
		equal(t, mode+": users named linus@example.com", search(t, ep, filterQuery("Users", `userName eq "linus@example.com"`)).Total, 0)
	}
}
