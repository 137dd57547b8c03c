package access

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
)

// TenantRow says what one TenantApp's users table should hold for a user,
// as the tenantapp reconciler decides it; the plugin does not read the
// database, so Ready says whether the app's last pass wrote what it should.
type TenantRow struct {
	TenantApp ObjectRef `json:"tenantApp"`
	// Scope is "every user" or the scope's group names.
	Scope   string `json:"scope"`
	InScope bool   `json:"inScope"`
	// Row is Active, Inactive, InactiveIfPresent or None.
	Row   tenantapp.RowState `json:"row"`
	Ready string             `json:"ready"`
	Note  string             `json:"note,omitempty"`
}

// tenantAppsOf lists the TenantApps of any namespace that project endpoint d.
func (s *session) tenantAppsOf(d *endpointData) ([]*scimv1.TenantApp, error) {
	var out []*scimv1.TenantApp
	var list scimv1.TenantAppList
	if err := s.pages(&list, func() {
		for i := range list.Items {
			if app := list.Items[i]; app.EndpointRef().String() == d.key.String() {
				out = append(out, &app)
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("listing TenantApps: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return keyString(out[i]) < keyString(out[j]) })
	return out, nil
}

// scopeOf resolves app's scope among the endpoint's groups.
func (d *endpointData) scopeOf(app *scimv1.TenantApp) tenantapp.Scope {
	groups := make([]*scimv1.ScimGroup, 0, len(d.groups))
	for _, g := range d.groups {
		groups = append(groups, g)
	}
	return tenantapp.ResolveScope(app, groups)
}

// blocked is why the app writes nothing at all, "" when it writes.
func (s *session) blocked(app *scimv1.TenantApp, d *endpointData, sc tenantapp.Scope) (string, error) {
	if d.ep == nil {
		return fmt.Sprintf("ScimEndpoint %s does not exist: nothing is written", d.key), nil
	}
	ns, err := s.namespace(app.Namespace)
	if err != nil {
		return "", err
	}
	var labels map[string]string
	if ns != nil {
		labels = ns.Labels
	}
	if !d.ep.AllowsNamespace(app.Namespace, labels) {
		return fmt.Sprintf("ScimEndpoint %s does not allow namespace %s: nothing is written, the tables keep what they hold", d.key, app.Namespace), nil
	}
	if len(sc.Missing) > 0 {
		return fmt.Sprintf("scope group(s) %s not found: nothing is written, the tables keep what they hold", strings.Join(sc.Missing, ", ")), nil
	}
	return "", nil
}

// tenantRows says, for every TenantApp of u's endpoint, what row it should
// hold for u.
func (s *session) tenantRows(u *scimv1.ScimUser, d *endpointData) ([]TenantRow, error) {
	apps, err := s.tenantAppsOf(d)
	if err != nil {
		return nil, err
	}
	out := []TenantRow{}
	for _, app := range apps {
		sc := d.scopeOf(app)
		in := sc.All
		for _, g := range d.userGroups[u.Name] {
			in = in || sc.GroupIDs[g]
		}
		r := TenantRow{TenantApp: ObjectRef{Kind: "TenantApp", Namespace: app.Namespace, Name: app.Name},
			Scope: scopeText(app), InScope: in, Row: tenantapp.ExpectedRow(app, u, in), Ready: readyText(app)}
		if r.Note, err = s.blocked(app, d, sc); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func scopeText(app *scimv1.TenantApp) string {
	if len(app.Spec.Scope.Groups) == 0 {
		return "every user"
	}
	return "groups " + strings.Join(app.Spec.Scope.Groups, ", ")
}

func readyText(app *scimv1.TenantApp) string {
	c := meta.FindStatusCondition(app.Status.Conditions, scimv1.ConditionReady)
	if c == nil {
		return "Unknown"
	}
	return string(c.Status) + " (" + c.Reason + ")"
}
