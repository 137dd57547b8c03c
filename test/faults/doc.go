// Package faults is the fault suite of issue 8: a corpus of hostile requests,
// token rotation while traffic flows, and a kube-apiserver outage during SCIM
// traffic, each against a real API server (envtest) and the real operator.
//
// # Operator crash and a stalled tenant database
//
// TestOperatorCrash runs the operator as a real process (the test binary
// re-executed in operator mode by TestMain, see child_test.go, with leader
// election as main.go) and SIGKILLs it mid-reconcile: twice while it projects
// 1,000 users into a TenantApp's PostgreSQL database and two RoleBindings,
// and twice while it unwinds the deletion of a group and its 400 members
// (whose tenant-apps and rbac-cleanup finalizers hold them). The SCIM
// requests go to a replica that is not elected (the test holds the Lease),
// so the backlog is reconciled at once when the Lease is handed over and the
// kill lands while it is being worked off; a kill that comes after the work
// is done fails the test. A restarted process must converge: exact rows,
// finalizers and RoleBinding subjects, nothing left in Terminating. The log
// gives each kill's state and the time from restart to convergence.
//
// TestTenantDatabaseStall puts a loopback TCP proxy (pgproxy_test.go) between
// the operator and one TenantApp's PostgreSQL. It adds latency, then stalls:
// open connections stop forwarding mid-stream and new ones are accepted but
// never answered, for good. During the stall SCIM traffic on that endpoint
// and another must succeed with a low p99, the TenantApp must report
// DatabaseReachable=False (condition, Event, metric) and retry at a bounded
// rate, and the other TenantApp keeps projecting; once the stall ends the
// tables must catch up within 30 s, which needs tenantdb's connect and ping
// timeouts. It takes about 95 s, most of it the 60 s call timeout that a
// stalled mid-stream call waits out.
//
// Every loop is bounded in count and time; the suite talks only to loopback.
package faults
