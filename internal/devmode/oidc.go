package devmode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/scim-operator/scim-operator/internal/oidcissuer"
)

// UsernamePrefix is what the local API server prepends to a token's sub, and
// therefore the subjects.prefix of the demo ScimRoleBinding: the two must be equal.
const UsernamePrefix = "oidc:"

// TokenTTL is the lifetime of the ID tokens OIDC_TOKEN_CMD prints.
const TokenTTL = time.Hour

// oidcDir is the issuer's key material under the state folder.
func oidcDir(state string) string { return filepath.Join(state, "oidc") }

// Token mints an ID token for the SCIM user userName that the local API server
// accepts while the local mode with this state folder runs; `dev token` prints it.
func Token(stateDir, userName string) (string, error) {
	state, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	return oidcissuer.Mint(oidcDir(state), userName, TokenTTL)
}

// startIssuer starts the local OIDC issuer and returns it with the
// kube-apiserver flags that make the API server trust it.
func startIssuer(state string) (*oidcissuer.Issuer, map[string][]string, error) {
	iss, err := oidcissuer.Start(oidcDir(state))
	if err != nil {
		return nil, nil, fmt.Errorf("starting the OIDC issuer: %w", err)
	}
	path, err := iss.WriteAuthenticationConfig(UsernamePrefix)
	if err != nil {
		_ = iss.Close()
		return nil, nil, err
	}
	return iss, map[string][]string{"authentication-config": {path}}, nil
}

// writeTokenCommand writes <state>/oidc-token, a script that runs this very
// binary's token subcommand with absolute paths, so OIDC_TOKEN_CMD works from
// any working directory; it returns the script's path.
func writeTokenCommand(state string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the dev binary for OIDC_TOKEN_CMD: %w", err)
	}
	path := filepath.Join(state, "oidc-token")
	script := fmt.Sprintf("#!/bin/sh\n# Prints an ID token for the SCIM userName $1, accepted by the local API server.\nexec %s token --state %s \"$@\"\n",
		shellQuote(exe), shellQuote(state))
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// waitTokensAccepted returns once the API server authenticates a token of the
// issuer as oidc:<probe user>: its JWT authenticator fetches the discovery
// document and JWKS asynchronously after start, and until then rejects tokens.
func waitTokensAccepted(ctx context.Context, admin *rest.Config, iss *oidcissuer.Issuer) error {
	const probe = "local-mode-probe"
	token, err := iss.Token(probe, time.Minute)
	if err != nil {
		return err
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err == nil && review.Status.UserInfo.Username == UsernamePrefix+probe {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("authenticated as %q", review.Status.UserInfo.Username)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server does not accept tokens of the issuer %s: %w", iss.URL, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TokenUser is the user, without credentials, and the context that .dev/kubeconfig
// offers besides the admin: `kubectl --user oidc --token "$($OIDC_TOKEN_CMD ada)"`
// then authenticates with the token alone. With the admin user, kubectl would
// send the admin's client certificate too, and the API server would take that.
const TokenUser = "oidc"

// withTokenUser adds TokenUser and a context of that name on the same cluster
// to an admin kubeconfig, leaving the admin context the current one.
func withTokenUser(kubeconfig []byte) ([]byte, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading the admin kubeconfig: %w", err)
	}
	current, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("the admin kubeconfig has no context %q", cfg.CurrentContext)
	}
	cfg.AuthInfos[TokenUser] = clientcmdapi.NewAuthInfo()
	cfg.Contexts[TokenUser] = &clientcmdapi.Context{Cluster: current.Cluster, AuthInfo: TokenUser, Namespace: "default"}
	return clientcmd.Write(*cfg)
}
