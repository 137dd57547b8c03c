package driver

// Scenario ids, in bench/README.md's order.
const (
	scSync   = "sync"
	scWrites = "writes"
	scReads  = "reads"
	scDeprov = "deprov"
	scMemory = "memory"
	scGroup  = "group"
)

// scenarios returns the report's sections with how each is measured; the
// stages fill in the figures.
func scenarios() []*Scenario {
	return []*Scenario{
		{ID: scSync, Title: "1. Initial sync",
			Method: "Each run starts a fresh control plane and operator, an endpoint with a TenantApp on a new PostgreSQL database and " +
				"one ScimRoleBinding (ClusterRole view) per group. The clock starts at the first SCIM request. The IdP's workers then push, " +
				"Okta-style: for every user `GET /Users?filter=userName eq` then `POST /Users`; `POST /Groups` (members: []); member-add " +
				"PATCHes, one group per worker at a time. The run ends when every RoleBinding holds exactly the expected subjects and the " +
				"tenant tables hold every user, group and membership (both checked every 200 ms during the push, every 50 ms after it). " +
				"Projection lag is that end minus the last SCIM response. Runs alternate 16 and 64 clients. After each 16-client run, " +
				"a second TenantApp of the endpoint on an empty database is timed from its creation until its tables hold every " +
				"user, group and membership (the full sync of issue 5, in rows per second)."},
		{ID: scWrites, Title: "2. Write throughput (POST /Users against raw API-server creates)",
			Method: "On an endpoint with no TenantApp or binding, rounds alternate between raw creates of the ScimUser objects the SCIM " +
				"server would store (the driver's client, straight to the API server) and SCIM `POST /Users` of Okta bodies, with the same " +
				"number of concurrent clients; the first round of each pair alternates too. Ratio = SCIM creates/s ÷ raw creates/s of the " +
				"same pair: the share of the API server's write rate the SCIM layer keeps (the user, a wait for the cache, a uniqueness check in it). " +
				"Values are per round."},
		{ID: scReads, Title: "3. Read latency against the number of users",
			Method: "Users are seeded directly through the API server with no operator running; an operator then starts and settles " +
				"(see 5). One client sends the four reads interleaved, one at a time: `GET /Users/{id}`, `filter=userName eq` (random " +
				"letter case), `filter=externalId eq`, and a page of 100 from the middle (`startIndex=N/2+1&count=100`: 50,001 at 100,000 " +
				"users). Every answer is checked (the right user, a full page). p50/p99 per round; figures are over rounds."},
		{ID: scDeprov, Title: "4. Deprovisioning latency",
			Method: "After each 16-client initial sync (each user in 5 bound groups), users spread over the endpoint are deactivated one " +
				"at a time with Okta's `PATCH {op: replace, value: {active: false}}`. Latency runs from sending the PATCH until the " +
				"user is a subject of no RoleBinding (checked on every RoleBinding event) and until its tenant row reads active=false " +
				"(polled every 2 ms); \"both\" is the later of the two. \"From the response\" starts at the PATCH's response instead."},
		{ID: scMemory, Title: "5. Memory and restart",
			Method: "The operator process is restarted at each number of users (runs = restarts). Ready = process start to the SCIM " +
				"server serving (cache synced, endpoints loaded); served = process start to the first `GET` of the last seeded user. " +
				"Then the driver waits until the operator is quiet (under 5% of a core for 2 s, at most 60 s: its controllers' first " +
				"pass) and reads VmRSS from /proc and the live Go heap after a forced GC (runtime/metrics). Per user = (value − " +
				"median at 0 users) ÷ users. Users only: no groups or memberships. Last, after scenario 6 (its group removed), the " +
				"operator starts once more at the largest size as a container sized at the target runs it: limit = baseline RSS + " +
				"4 KiB per user, GOMEMLIMIT = what --memory-limit-ratio 0.9 derives from that limit (90% of what is left once 48 MiB the Go runtime does not manage are set aside); \"limited\" " +
				"figures are that start's ready time and RSS."},
		{ID: scGroup, Title: "6. A 100,000-member group",
			Method: "On the largest seeded endpoint, one client builds a group the way an IdP pushes one: `POST /Groups`, then member-add " +
				"PATCHes in batches, sequentially (a 503 is retried after Retry-After). Then a ScimRoleBinding on the group is created " +
				"and timed until its RoleBindings hold every member. Then single members are removed " +
				"(`members[value eq \"id\"]`) and added back, one at a time: the PATCH latency, the time until the RoleBinding shard " +
				"reflects it, and the operator CPU per change. Built once per run of the benchmark."},
	}
}
