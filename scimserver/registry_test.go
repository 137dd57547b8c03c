package scimserver

import (
	"crypto/sha256"
	"testing"

	"github.com/scim-operator/scim-operator/internal/scimstore"
)

func TestAuthenticate(t *testing.T) {
	ep := &Endpoint{Tokens: []scimstore.Token{{ID: "a/token", Hash: sha256.Sum256([]byte("first-token-0123456789abcdef"))},
		{ID: "b/token", Hash: sha256.Sum256([]byte("second-token-0123456789abcdef"))}}}
	if id, ok := ep.authenticate("second-token-0123456789abcdef"); !ok || id != "b/token" {
		t.Errorf("the second token: %q %v", id, ok)
	}
	if _, ok := ep.authenticate("scim-operator: no token in this slot"); ok {
		t.Error("the filler of unused slots authenticated")
	}
	var unknown *Endpoint
	if _, ok := unknown.authenticate("first-token-0123456789abcdef"); ok {
		t.Error("an unknown endpoint authenticated")
	}
}
