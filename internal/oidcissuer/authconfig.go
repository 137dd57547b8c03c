package oidcissuer

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// authConfigFile is the kube-apiserver --authentication-config file under the issuer's folder.
const authConfigFile = "authentication-config.yaml"

// AuthenticationConfig renders the kube-apiserver structured authentication
// configuration that trusts this issuer: tokens with aud Audience, the sub
// claim as the username, prefixed with usernamePrefix (which must equal the
// subjects.prefix of the ScimRoleBindings meant for these users).
func (i *Issuer) AuthenticationConfig(usernamePrefix string) ([]byte, error) {
	cfg := map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1",
		"kind":       "AuthenticationConfiguration",
		"jwt": []any{map[string]any{
			"issuer": map[string]any{
				"url":                  i.URL,
				"certificateAuthority": string(i.CAPEM),
				"audiences":            []string{Audience},
			},
			"claimMappings": map[string]any{
				"username": map[string]any{"claim": "sub", "prefix": usernamePrefix},
			},
		}},
	}
	return yaml.Marshal(cfg)
}

// WriteAuthenticationConfig writes AuthenticationConfig into the issuer's
// folder and returns its path, for kube-apiserver's --authentication-config.
func (i *Issuer) WriteAuthenticationConfig(usernamePrefix string) (string, error) {
	data, err := i.AuthenticationConfig(usernamePrefix)
	if err != nil {
		return "", err
	}
	path := filepath.Join(i.dir, authConfigFile)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
