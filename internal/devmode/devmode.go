// Package devmode is the local mode behind `make dev`: a real kube-apiserver
// and etcd, a PostgreSQL instance with its data under .dev/, the CRDs, demo
// objects and the operator itself, all in one foreground process that stops
// everything on SIGINT/SIGTERM.
package devmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver"
)

// Options configures the local mode.
type Options struct {
	// StateDir holds the PostgreSQL data, kubeconfig, token and env file (.dev).
	StateDir string
	// SCIMAddr is the SCIM listen address; default 127.0.0.1:8443, or a free port when taken.
	SCIMAddr string
	// Out receives the env lines printed when ready.
	Out io.Writer
	// Logger is the operator's logger.
	Logger logr.Logger
}

// Env is what a developer needs to talk to the local mode; it is written to
// <StateDir>/env in shell-sourceable form.
type Env struct {
	KubeConfig, Kubectl, SCIMBaseURL, SCIMToken, TenantDSN string
	// OIDCTokenCmd, run with a SCIM userName as its argument, prints an ID
	// token the local API server authenticates as oidc:<userName>.
	OIDCTokenCmd string
}

// Lines renders the env file, one VAR=value per line, values shell-quoted.
func (e Env) Lines() string {
	var b strings.Builder
	for _, kv := range [][2]string{{"KUBECONFIG", e.KubeConfig}, {"KUBECTL", e.Kubectl},
		{"SCIM_BASE_URL", e.SCIMBaseURL}, {"SCIM_TOKEN", e.SCIMToken}, {"TENANT_DSN", e.TenantDSN},
		{"OIDC_TOKEN_CMD", e.OIDCTokenCmd}} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=?&%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Run starts everything, writes the env file when ready, and blocks until ctx
// ends; then it stops the operator, the control plane and PostgreSQL, in that order.
func Run(ctx context.Context, opts Options) (err error) {
	if err := controlplane.CheckBinaries(); err != nil {
		return err
	}
	state, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", state, err)
	}
	_ = os.Remove(filepath.Join(state, "env"))
	say := func(format string, args ...any) { fmt.Fprintf(opts.Out, "[dev] "+format+"\n", args...) }

	say("starting PostgreSQL (data in %s)", filepath.Join(state, "postgres"))
	pg, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(state, "postgres"), Fsync: true})
	if err != nil {
		if errors.Is(err, localpg.ErrBinariesMissing) {
			return fmt.Errorf("%w\n(on Debian/Ubuntu: apt-get update && apt-get install -y postgresql)", err)
		}
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	defer func() { logStop(say, "PostgreSQL", pg.Stop()) }()
	if err := pg.CreateDatabase(ctx, "demo_app"); err != nil {
		return fmt.Errorf("creating the demo_app database: %w", err)
	}

	iss, apiserverFlags, err := startIssuer(state)
	if err != nil {
		return err
	}
	defer func() { logStop(say, "OIDC issuer", iss.Close()) }()
	say("OIDC issuer at %s", iss.URL)

	say("starting etcd and kube-apiserver %s", controlplane.KubernetesVersion)
	cp, err := controlplane.Start(controlplane.Options{APIServerFlags: apiserverFlags})
	if err != nil {
		return err
	}
	defer func() { logStop(say, "control plane", cp.Stop()) }()
	if err := waitTokensAccepted(ctx, cp.Config, iss); err != nil {
		return err
	}
	kubeconfig := filepath.Join(state, "kubeconfig")
	kc, err := cp.KubeConfig()
	if err != nil {
		return err
	}
	if kc, err = withTokenUser(kc); err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", kubeconfig, err)
	}

	token, err := loadOrCreateToken(filepath.Join(state, "token"))
	if err != nil {
		return err
	}
	tokenCmd, err := writeTokenCommand(state)
	if err != nil {
		return err
	}
	env := Env{KubeConfig: kubeconfig, Kubectl: controlplane.Kubectl(), SCIMToken: token,
		TenantDSN: pg.DSN("demo_app"), OIDCTokenCmd: tokenCmd}
	c, err := cp.Client()
	if err != nil {
		return err
	}
	if err := AggregateClusterRoles(ctx, c); err != nil {
		return err
	}
	say("creating the demo objects")
	if err := createDemo(ctx, c, token, env.TenantDSN); err != nil {
		return err
	}

	ln, err := listen(opts.SCIMAddr)
	if err != nil {
		return err
	}
	op, err := operator.New(cp.Config, operator.Options{
		MetricsAddr: "127.0.0.1:0", ProbeAddr: "127.0.0.1:0", Logger: opts.Logger,
		SCIM: scimserver.Options{Listener: ln},
	})
	if err != nil {
		return err
	}
	mctx, stopManager := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- op.Manager.Start(mctx) }()
	defer func() {
		stopManager()
		logStop(say, "operator", <-done)
	}()
	addr, err := op.SCIM.Addr(ctx)
	if err != nil {
		return err
	}
	env.SCIMBaseURL = "http://" + addr + scimserver.PathPrefix + "default/okta"
	if err := os.WriteFile(filepath.Join(state, "env"), []byte(env.Lines()), 0o600); err != nil {
		return fmt.Errorf("writing the env file: %w", err)
	}
	say("ready; these lines are in %s (source it in another shell):", filepath.Join(state, "env"))
	fmt.Fprint(opts.Out, env.Lines())
	say("press Ctrl-C to stop everything")

	select {
	case <-ctx.Done():
		say("stopping")
		return nil
	case err := <-done:
		done <- err
		return fmt.Errorf("the operator stopped: %w", err)
	case <-pg.Done():
		return errors.New("PostgreSQL stopped unexpectedly")
	}
}

func logStop(say func(string, ...any), what string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		say("stopping %s: %v", what, err)
	}
}

// listen binds the SCIM address: 127.0.0.1:8443 by default, else a free port.
func listen(addr string) (net.Listener, error) {
	if addr != "" {
		return net.Listen("tcp", addr)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:8443"); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// loadOrCreateToken keeps the demo token across restarts, so an IdP pointed at
// the local mode keeps working.
func loadOrCreateToken(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil && scimstore.TokenBits(strings.TrimSpace(string(data))) >= 128 {
		return strings.TrimSpace(string(data)), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return token, nil
}
