package tenantdb_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestTwoOperatorsRace runs two whole operators without leader election, so
// both reconcile the same TenantApp, while SCIM traffic is spread over both.
// A sampler reads the users table throughout: no row's version may ever go
// down. At the end there are no duplicate rows and the tables equal the CRs.
func TestTwoOperatorsRace(t *testing.T) {
	a, b := testharness.RunOperator(t, cp, testharness.Options{}), testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	epA := a.NewEndpoint(t, ns, "okta")
	epB := &testharness.Endpoint{Namespace: ns, Name: "okta", Token: epA.Token, HTTP: epA.HTTP,
		BaseURL: "http://" + b.Addr + scimv1.SCIMPathPrefix + ns + "/okta"}
	testharness.Eventually(t, 30*time.Second, func() string {
		if r := epB.Do(t, "GET", "/ServiceProviderConfig", nil); r.Status != http.StatusOK {
			return fmt.Sprintf("second operator answers %d", r.Status)
		}
		return ""
	})
	tn := newTenant(t, a.Client, ns, "app", "okta", "", func(app *scimv1.TenantApp) {
		app.Spec.ResyncInterval = metav1.Duration{Duration: 3 * time.Second} // full passes race too
	})
	regressions := sampleVersions(t, tn.DSN)

	const workers, usersPerWorker = 6, 12
	gid := createGroup(t, epA, "Everyone")
	testharness.Eventually(t, 30*time.Second, func() string {
		if r := epB.Do(t, "GET", "/Groups/"+gid, nil); r.Status != http.StatusOK {
			return "the second operator does not see the group yet"
		}
		return ""
	})
	// Each worker talks to one replica (a replica reads its own writes only);
	// the workers are split over both, and both operators reconcile.
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep := []*testharness.Endpoint{epA, epB}[w%2]
			for i := range usersPerWorker {
				id := createUser(t, ep, fmt.Sprintf("w%d-u%d@example.com", w, i))
				addMembers(t, ep, gid, id)
				setActive(t, ep, id, false)
				putUser(t, ep, id, userBody(fmt.Sprintf("w%d-u%d-renamed@example.com", w, i), "Re", "Named", false))
				setActive(t, ep, id, true)
				switch i % 4 {
				case 1:
					removeMember(t, ep, gid, id)
				case 2:
					deleteResource(t, ep, "/Users/"+id)
				}
			}
		}()
	}
	wg.Wait()

	tn.waitEqual(t, "okta", time.Minute)
	testharness.Eventually(t, time.Minute, func() string {
		if s := terminating(t, a.Client, ns); len(s) > 0 {
			return "users stuck in deletion: " + s[0]
		}
		return ""
	})
	tn.waitEqual(t, "okta", time.Minute)
	found, samples := regressions()
	for _, r := range found {
		t.Error(r)
	}
	if samples < 10 {
		t.Errorf("the sampler read the table only %d times", samples)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, tn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var dupIDs, dupNames int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT id FROM scim.users GROUP BY id HAVING count(*) > 1) d),
		(SELECT count(*) FROM (SELECT lower(user_name) FROM scim.users GROUP BY 1 HAVING count(*) > 1) n)`).Scan(&dupIDs, &dupNames); err != nil {
		t.Fatal(err)
	}
	if dupIDs+dupNames > 0 {
		t.Errorf("duplicate rows: %d ids, %d userNames", dupIDs, dupNames)
	}
}

// sampleVersions reads the users table every few milliseconds until the
// returned function is called; it stops sampling and lists every time a row's
// version was lower than one seen before for the same id, and the number of
// successful reads.
func sampleVersions(t *testing.T, dsn string) func() ([]string, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu          sync.Mutex
		regressions []string
		samples     int
		done        = make(chan struct{})
	)
	highest := map[string]int64{}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			rows, err := conn.Query(ctx, `SELECT id, version FROM scim.users`)
			if err == nil {
				for rows.Next() {
					var id string
					var v int64
					if rows.Scan(&id, &v) == nil {
						if v < highest[id] {
							mu.Lock()
							regressions = append(regressions, fmt.Sprintf("row %s went from version %d to %d", id, highest[id], v))
							mu.Unlock()
						}
						highest[id] = max(highest[id], v)
					}
				}
				if rows.Close(); rows.Err() == nil {
					samples++
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	stop := func() {
		cancel()
		<-done
		_ = conn.Close(context.Background())
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	return func() ([]string, int) {
		select {
		case <-done:
		default:
			stop()
		}
		mu.Lock()
		defer mu.Unlock()
		return regressions, samples
	}
}
