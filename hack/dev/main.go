// Command dev is the local mode behind `make dev`: it runs scim-operator on an
// embedded kube-apiserver, etcd and PostgreSQL until Ctrl-C. See internal/devmode.
//
// `dev token [--state .dev] <userName>` prints an ID token of the local OIDC
// issuer for that SCIM user; .dev/env's OIDC_TOKEN_CMD runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/internal/devmode"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "token" {
		os.Exit(token(os.Args[2:]))
	}
	state := flag.String("state", ".dev", "Folder for PostgreSQL data, the kubeconfig, the token and the env file.")
	addr := flag.String("scim-addr", "", "SCIM listen address (default 127.0.0.1:8443, or a free port when taken).")
	flag.String("assets", "", "Folder of kube-apiserver, etcd and kubectl (sets KUBEBUILDER_ASSETS).")
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if a := flag.Lookup("assets").Value.String(); a != "" {
		_ = os.Setenv("KUBEBUILDER_ASSETS", a)
	}
	log := zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := devmode.Run(ctx, devmode.Options{StateDir: *state, SCIMAddr: *addr, Out: os.Stdout, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev: error:", err)
		os.Exit(1)
	}
}

// token prints an ID token for the userName in args.
func token(args []string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	state := fs.String("state", ".dev", "State folder of the running local mode.")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: dev token [--state .dev] <userName>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	t, err := devmode.Token(*state, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev token: error:", err)
		return 1
	}
	fmt.Println(t)
	return 0
}
