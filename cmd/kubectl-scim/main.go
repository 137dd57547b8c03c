// Command kubectl-scim is the kubectl plugin `kubectl scim`: who has access
// through scim-operator and why, read from the cluster alone
// (docs/kubectl.md). Put the binary on PATH and kubectl finds it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/access"
	"github.com/scim-operator/scim-operator/internal/kube"
)

const usage = `kubectl scim: who has access through scim-operator, and why.

Usage:
  kubectl scim who-can [-n NAMESPACE]                  every grant scim-operator projects into a namespace
  kubectl scim user USERNAME|ID [--endpoint NS/NAME]   a user's groups, roles, grants and tenant rows
  kubectl scim group DISPLAYNAME|ID [--endpoint NS/NAME]  what a group grants, and where

"access" is another name for who-can. A user or group is looked up in every
namespace unless -n or --endpoint narrows it. Grants are Granted, Pending (should
be in a RoleBinding, is not yet), Revoking (is, should no longer be) or
NotGranted (a member gets nothing: see REASON).

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, asks the cluster and prints; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("kubectl-scim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	fs.StringVar(&rules.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	overrides := &clientcmd.ConfigOverrides{}
	clientcmd.BindOverrideFlags(overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
	output := fs.StringP("output", "o", "table", "output format: table, json or yaml")
	endpoint := fs.String("endpoint", "", "the ScimEndpoint of the user or group, as NAMESPACE/NAME (or NAME with -n)")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 || fs.Arg(0) == "help" {
		fs.Usage()
		return 0
	}
	if *output != "table" && *output != "json" && *output != "yaml" {
		fmt.Fprintf(stderr, "error: unknown output format %q: use table, json or yaml\n", *output)
		return 2
	}
	config := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	report, err := ask(ctx, config, fs.Args(), overrides.Context.Namespace, *endpoint)
	if err == nil {
		err = access.Print(stdout, *output, report)
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// ask builds the client and runs the subcommand. explicitNS is -n, "" when
// not given.
func ask(ctx context.Context, config clientcmd.ClientConfig, args []string, explicitNS, endpoint string) (access.Report, error) {
	cmd := args[0]
	switch cmd {
	case "who-can", "access", "user", "group":
	default:
		return nil, fmt.Errorf("unknown command %q: use who-can, user or group (kubectl scim --help)", cmd)
	}
	namespace, _, err := config.Namespace()
	if err != nil {
		return nil, err
	}
	rest, err := config.ClientConfig()
	if err != nil {
		return nil, err
	}
	kube.Tune(rest)
	c, err := client.New(rest, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return nil, err
	}
	in := &access.Inspector{Client: c}
	if cmd == "who-can" || cmd == "access" {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes no argument: give the namespace with -n", cmd)
		}
		return in.Namespace(ctx, namespace)
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("%s takes one argument, the %s or the id", cmd, map[string]string{"user": "userName", "group": "displayName"}[cmd])
	}
	q := access.Query{Name: args[1], Namespace: explicitNS}
	if endpoint != "" {
		q.Namespace, q.Endpoint = namespace, endpoint
		if ns, name, ok := strings.Cut(endpoint, "/"); ok {
			q.Namespace, q.Endpoint = ns, name
		}
	}
	if cmd == "user" {
		return in.User(ctx, q)
	}
	return in.Group(ctx, q)
}
