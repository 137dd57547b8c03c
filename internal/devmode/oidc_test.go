package devmode

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestWithTokenUser checks what `kubectl --user oidc --token T` relies on: the
// request carries the token and not the admin's client certificate, which the
// API server would authenticate first.
func TestWithTokenUser(t *testing.T) {
	admin := clientcmdapi.NewConfig()
	admin.Clusters["envtest"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthorityData: []byte("ca")}
	admin.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("cert"), ClientKeyData: []byte("key")}
	admin.Contexts["admin"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	admin.CurrentContext = "admin"
	data, err := clientcmd.Write(*admin)
	if err != nil {
		t.Fatal(err)
	}
	data, err = withTokenUser(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "admin" {
		t.Errorf("current context %q, want admin unchanged", cfg.CurrentContext)
	}
	overrides := &clientcmd.ConfigOverrides{Context: clientcmdapi.Context{AuthInfo: TokenUser}, AuthInfo: clientcmdapi.AuthInfo{Token: "id-token"}}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, overrides).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.BearerToken != "id-token" || len(rc.CertData) != 0 || len(rc.KeyData) != 0 || rc.Host != "https://127.0.0.1:6443" || string(rc.CAData) != "ca" {
		t.Errorf("--user %s --token: host %s, CA %q, token %q, client cert %d bytes; want the cluster, its CA and the token only",
			TokenUser, rc.Host, rc.CAData, rc.BearerToken, len(rc.CertData))
	}
}

func TestEnvLinesHasTokenCommand(t *testing.T) {
	lines := Env{OIDCTokenCmd: "/repo/.dev/oidc-token"}.Lines()
	if !strings.Contains(lines, "\nOIDC_TOKEN_CMD=/repo/.dev/oidc-token\n") {
		t.Errorf("env lines lack OIDC_TOKEN_CMD:\n%s", lines)
	}
}
