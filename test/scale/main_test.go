package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// cp is the control plane every test and benchmark of the package shares;
// each isolates itself in its own namespace.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(testharness.RunTests(m, &cp))
}

const patchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// onReplica returns the endpoint as served by another operator on the same
// control plane, once that replica accepts the token.
func onReplica(tb testing.TB, e *testharness.Endpoint, op *testharness.Operator) *testharness.Endpoint {
	tb.Helper()
	other := *e
	other.BaseURL = "http://" + op.Addr + scimserver.PathPrefix + e.Namespace + "/" + e.Name
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		res, err := call(ctx, &other, http.MethodGet, "/ServiceProviderConfig", nil)
		if err == nil && res.Status == http.StatusOK {
			return &other
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("replica %s never accepted the endpoint's token (last: %d %v)", op.Addr, res.Status, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// result is one SCIM response. Unlike testharness.Endpoint.Do, call is safe
// to use from any goroutine: it returns errors instead of failing the test.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

// decode unmarshals the body into v.
func (r result) decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("response %d is not JSON: %w", r.Status, err)
	}
	return nil
}

func call(ctx context.Context, e *testharness.Endpoint, method, path string, body any) (result, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return result{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.BaseURL+path, rd)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return result{Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// scimError is the part of a SCIM Error body the tests look at.
type scimError struct {
	Status   string `json:"status"`
	ScimType string `json:"scimType"`
}

// groupBody is the part of a SCIM Group the tests look at.
type groupBody struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"members"`
}

// oktaUser is the body Okta sends to create a user (test/conformance/okta_test.go).
func oktaUser(userName string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    userName,
		"name":        map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":      []map[string]any{{"primary": true, "value": userName, "type": "work"}},
		"displayName": "Ada Lovelace",
		"locale":      "en-US",
		"externalId":  "00u" + uuid.NewString()[:17],
		"groups":      []any{},
		"password":    "t1meMa$heen",
		"active":      true,
	}
}

// memberAdd is an Okta member-add PATCH of ids.
func memberAdd(ids []string) map[string]any {
	values := make([]map[string]any, len(ids))
	for i, id := range ids {
		values[i] = map[string]any{"value": id}
	}
	return map[string]any{
		"schemas":    []string{patchOpURN},
		"Operations": []map[string]any{{"op": "add", "path": "members", "value": values}},
	}
}

// seededUser is the ScimUser the SCIM server would store for oktaUser(userName).
func seededUser(ns, endpoint, userName string) *scimv1.ScimUser {
	return &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uuid.NewString(),
			Labels:      map[string]string{scimv1.LabelEndpoint: endpoint},
			Annotations: map[string]string{scimserver.AnnotationLastModified: time.Now().UTC().Format(time.RFC3339)}},
		Spec: scimv1.ScimUserSpec{
			Endpoint: endpoint, UserName: userName, ExternalID: "00u" + uuid.NewString()[:17], Active: true,
			Name:        &scimv1.Name{GivenName: "Ada", FamilyName: "Lovelace"},
			DisplayName: "Ada Lovelace", Locale: "en-US",
			Emails: []scimv1.MultiValuedAttribute{{Value: userName, Type: "work", Primary: true}},
		},
	}
}

// parallel runs fn(i) for i in [0,n) on workers goroutines and returns the
// first error. It stops handing out work after an error or when ctx ends.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && next.Load() < int64(n) {
		first = ctx.Err()
	}
	return first
}

// quietEndpoint creates an endpoint through an operator that it stops again
// at once, so that a test can seed many users with no operator watching; an
// operator started afterwards (startOperator, then onReplica) loads them in
// one LIST, as a restarted operator does. Seeding under a running operator is
// slower: every user is an informer event, and the endpoint status
// controller re-lists all users while the count changes.
func quietEndpoint(tb testing.TB, prefix string) *testharness.Endpoint {
	tb.Helper()
	boot, err := testharness.StartOperator(cp, false)
	if err != nil {
		tb.Fatalf("starting the operator: %v", err)
	}
	defer func() {
		if err := boot.Stop(); err != nil {
			tb.Errorf("stopping the operator: %v", err)
		}
	}()
	return boot.NewEndpoint(tb, testharness.UniqueName(prefix), "okta")
}

// seedUsers creates n ScimUsers of the endpoint named userName(i) directly
// through c, with bounded concurrency, and returns their ids in order of i.
// The last user is created after every other one returned: once a SCIM
// server serves it, its informer (which delivers events in resourceVersion
// order) has seen them all.
func seedUsers(ctx context.Context, c client.Client, e *testharness.Endpoint, n, workers int, userName func(i int) string) ([]string, error) {
	ids := make([]string, n)
	create := func(ctx context.Context, i int) error {
		u := seededUser(e.Namespace, e.Name, userName(i))
		if err := c.Create(ctx, u); err != nil {
			return fmt.Errorf("seeding user %d: %w", i, err)
		}
		ids[i] = u.Name
		return nil
	}
	if err := parallel(ctx, n-1, workers, create); err != nil {
		return nil, err
	}
	return ids, create(ctx, n-1)
}

// waitServed polls path until the SCIM server answers 200.
func waitServed(ctx context.Context, e *testharness.Endpoint, path string) error {
	for {
		res, err := call(ctx, e, http.MethodGet, path, nil)
		if err == nil && res.Status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be served (last %d %v): %w", path, res.Status, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
