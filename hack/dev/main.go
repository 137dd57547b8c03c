// Command dev is the local mode behind `make dev`: it runs scim-operator on an
// embedded kube-apiserver, etcd and PostgreSQL until Ctrl-C. See internal/devmode.
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
