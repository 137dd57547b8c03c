package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// TestKeyedIDs: with an installation key, a new user's id is an HMAC of the
// endpoint and userName under the key, so seeing an id confirms no guessed
// person, while users created before the key keep their ids and their
// userNames stay unique against creates and renames.
func TestKeyedIDs(t *testing.T) {
	key := []byte("an installation key of at least thirty-two bytes, from a Secret")
	replica := startServingReplica(t, "keyed-ids", testharness.Options{SCIM: scimserver.Options{IDKey: key}})
	ns := testharness.Namespace(t)
	ep := replica.NewEndpoint(t, ns, "idp")

	body := func(userName string) string {
		return fmt.Sprintf(`{"schemas": [%q], "userName": %q, "active": true}`, userURN, userName)
	}
	before := time.Now()
	id := str(post(t, ep, "Users", body("ada@example.com")), "id")
	keyed := func(msg []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write(msg)
		return "user-" + hex.EncodeToString(mac.Sum(nil)[:20])
	}
	// The id is the keyed hash of the id epoch (its length, half the
	// default tombstone TTL, and its number) the create ran in, the
	// endpoint and the value (internal/scimstore/tombstones.go).
	var want []string
	half := scimstore.DefaultTombstoneTTL / 2
	for _, at := range []time.Time{before, time.Now()} {
		msg := binary.BigEndian.AppendUint64([]byte("#epoch\x00"), uint64(half))
		msg = binary.BigEndian.AppendUint64(msg, uint64(at.UnixNano()/int64(half)))
		want = append(want, keyed(append(msg, "idp\x00ada@example.com"...)))
	}
	if !slices.Contains(want, id) {
		t.Errorf("id %s, want the keyed hash of the value and the epoch, %v", id, want)
	}
	// It carries the keyed name of the value alone, which its claims have.
	if got := storedUser(t, ep, id).Labels[scimv1.LabelDerivedFrom]; got != keyed([]byte("idp\x00ada@example.com")) {
		t.Errorf("label %s = %q, want the keyed hash of the value", scimv1.LabelDerivedFrom, got)
	}
	if unkeyed := scimstore.UniqueName("User", "idp", "ada@example.com"); id == unkeyed {
		t.Errorf("the id is the unkeyed hash anyone can compute")
	}

	// A user created before the key, under the unkeyed name.
	legacy := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: scimstore.UniqueName("User", "idp", "old@example.com"),
		Labels: map[string]string{scimv1.LabelEndpoint: "idp"}},
		Spec: scimv1.ScimUserSpec{Endpoint: "idp", UserName: "old@example.com", Active: true}}
	if err := op.Client.Create(context.Background(), legacy); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, 30*time.Second, func() string {
		r := ep.Do(t, "GET", "/Users/"+legacy.Name, nil)
		return testharness.Unless(r.Status == http.StatusOK, "the user created before the key is served under its id", fmt.Sprint(r.Status))
	})
	expectError(t, ep.Do(t, "POST", "/Users", body("OLD@example.com")), http.StatusConflict, "uniqueness")
	r := ep.Do(t, "PATCH", "/Users/"+id, patchOp(`{"op": "replace", "path": "userName", "value": "old@example.com"}`))
	expectError(t, r, http.StatusConflict, "uniqueness")
	if got := storedUser(t, ep, id).Spec.UserName; got != "ada@example.com" {
		t.Errorf("the refused rename left userName %q", got)
	}

	// A deleted keyed id is retired like an unkeyed one: the next user of
	// that userName gets a random id.
	if r := ep.Do(t, "DELETE", "/Users/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	again := str(post(t, ep, "Users", body("ada@example.com")), "id")
	if again == id || strings.HasPrefix(again, "user-") {
		t.Errorf("the id after a deletion is %s, want a random one", again)
	}
}
