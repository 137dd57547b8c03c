package access

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"sigs.k8s.io/yaml"
)

// Report is a UserReport, GroupReport or NamespaceReport.
type Report interface {
	// WriteTable writes the report for a person to read.
	WriteTable(w io.Writer) error
}

// Print writes report in format: "" or "table" for a person, "json" or
// "yaml" for a program.
func Print(w io.Writer, format string, report Report) error {
	switch format {
	case "", "table":
		return report.WriteTable(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	case "yaml":
		data, err := yaml.Marshal(report)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("unknown output format %q: use table, json or yaml", format)
}

// table writes tab-separated rows as aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
		cells[i] = printable(cells[i])
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// printable returns s, or s quoted when it holds a character a terminal
// would act on rather than show (escape sequences, carriage returns, new
// lines, tabs): userNames and group names come from the identity provider,
// and a table must not let one erase or forge the lines around it.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func (t *table) flush() error { return t.tw.Flush() }

// WriteTable writes the user, its groups and roles, its grants and its
// tenant rows.
func (r *UserReport) WriteTable(w io.Writer) error {
	active := "yes"
	switch {
	case r.Deleting:
		active = "no (being deleted)"
	case !r.User.Active && r.DeactivatedAt != "":
		active = "no (deactivated " + r.DeactivatedAt + ")"
	case !r.User.Active:
		active = "no"
	}
	groups := make([]string, 0, len(r.Groups))
	for _, g := range r.Groups {
		groups = append(groups, fmt.Sprintf("%s (id %s)", printable(g.DisplayName), g.ID))
	}
	fmt.Fprintf(w, "User:      %s (id %s, ScimEndpoint %s/%s)\n", printable(r.User.UserName), r.User.ID, r.User.Namespace, r.User.Endpoint)
	fmt.Fprintf(w, "Active:    %s\n", active)
	fmt.Fprintf(w, "Groups:    %s\n", orNone(groups))
	roles := make([]string, len(r.Roles))
	for i, role := range r.Roles {
		roles[i] = printable(role)
	}
	fmt.Fprintf(w, "Roles:     %s\n\n", orNone(roles))
	if len(r.Access) == 0 {
		fmt.Fprintln(w, "No binding or entitlement grants this user anything.")
	} else {
		t := newTable(w, "WHERE", "ROLE", "VIA", "BINDING", "SUBJECT", "ROLEBINDING", "STATE", "REASON")
		for _, a := range r.Access {
			t.row(a.Where(), roleText(a), a.Via(), a.Binding.String(), a.SubjectKind+" "+a.Subject, childText(a.RoleBinding), string(a.State), a.Reason)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(r.TenantApps) == 0 {
		fmt.Fprintln(w, "No TenantApp projects this user's endpoint.")
		return nil
	}
	t := newTable(w, "TENANTAPP", "SCOPE", "IN SCOPE", "ROW", "READY", "NOTE")
	for _, a := range r.TenantApps {
		t.row(a.TenantApp.Namespace+"/"+a.TenantApp.Name, a.Scope, yesNo(a.InScope), string(a.Row), a.Ready, a.Note)
	}
	return t.flush()
}

// WriteTable writes the group, its grants, its RoleBindings and its TenantApps.
func (r *GroupReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Group:     %s (id %s, ScimEndpoint %s/%s)\n", printable(r.Group.DisplayName), r.Group.ID, r.Group.Namespace, r.Group.Endpoint)
	fmt.Fprintf(w, "Members:   %d (%d active)\n\n", r.Members, r.ActiveMembers)
	if len(r.Grants) == 0 {
		fmt.Fprintln(w, "No binding grants this group anything.")
	} else {
		t := newTable(w, "BINDING", "ROLE", "SUBJECTS", "WHERE", "READY", "GRANTED", "PENDING", "REVOKING")
		for _, g := range r.Grants {
			where := strings.Join(g.Namespaces, ",")
			if g.ClusterWide {
				where = "(cluster)"
			}
			t.row(g.Binding.String(), g.Role.Kind+"/"+g.Role.Name, g.SubjectKind, where, g.Ready,
				fmt.Sprint(g.Granted), fmt.Sprint(g.Pending), fmt.Sprint(g.Revoking))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(r.RoleBindings) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "GENERATED", "ROLE", "SUBJECTS")
		for _, g := range r.RoleBindings {
			t.row(g.String(), g.Role.Kind+"/"+g.Role.Name, fmt.Sprint(g.Subjects))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(r.TenantApps) == 0 {
		fmt.Fprintln(w, "No TenantApp receives this group's members.")
		return nil
	}
	t := newTable(w, "TENANTAPP", "SCOPE", "READY")
	for _, a := range r.TenantApps {
		t.row(a.TenantApp.Namespace+"/"+a.TenantApp.Name, a.Scope, a.Ready)
	}
	return t.flush()
}

// WriteTable writes every subject with access in the namespace.
func (r *NamespaceReport) WriteTable(w io.Writer) error {
	if len(r.Access) == 0 {
		fmt.Fprintf(w, "No grant of scim-operator reaches namespace %s.\n", r.Namespace)
		return nil
	}
	t := newTable(w, "WHERE", "SUBJECT", "USER", "ACTIVE", "VIA", "ROLE", "BINDING", "ROLEBINDING", "STATE", "REASON")
	for _, a := range r.Access {
		user, active := "", ""
		if a.User != nil {
			user, active = a.User.UserName, yesNo(a.User.Active)
		}
		t.row(a.Where(), a.SubjectKind+" "+a.Subject, user, active, a.Via(), roleText(a), a.Binding.String(),
			childText(a.RoleBinding), string(a.State), a.Reason)
	}
	return t.flush()
}

func roleText(a Access) string { return a.Role.Kind + "/" + a.Role.Name }

// childText is a RoleBinding's name (its namespace is the row's), or a
// ClusterRoleBinding's kind and name.
func childText(r ObjectRef) string {
	switch {
	case r.Name == "":
		return "-"
	case r.Kind == "ClusterRoleBinding":
		return "ClusterRoleBinding/" + r.Name
	}
	return r.Name
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
