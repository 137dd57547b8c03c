package driver

import (
	"math"
	"time"
)

// Config is what one benchmark run measures and where it writes the report.
type Config struct {
	// OutDir receives report.md, report.json, the SVG plots, the CPU
	// profiles and the operator logs.
	OutDir string
	// Scale multiplies every size of bench/README.md (1 is the full run); a
	// development run uses about 0.02-0.05 so it ends in a few minutes.
	Scale float64
	// Runs is how many times each measurement is repeated; figures are the
	// median of the runs, with min and max.
	Runs int
	// SyncRuns is how many initial syncs run at each concurrency level: the
	// most expensive scenario, so it has its own count (2 at full size fit
	// the 30-minute budget of `make bench`).
	SyncRuns int
	// Only, when not empty, restricts the run to these stages ("sync",
	// "big"); the report marks the others as not measured.
	Only map[string]bool
	// Timeout bounds the whole run; stages still running at the deadline
	// fail and the report says so.
	Timeout time.Duration
	// Previous, when set, is an earlier report.json to compare with: the
	// report gains a table of the targets' figures in both and plots of
	// sync wall time and RSS per user against it.
	Previous string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Sizes are the counts of one run, derived from Config.Scale.
type Sizes struct {
	// SyncUsers users in SyncGroups groups, each user in GroupsPerUser of
	// them, pushed Okta-style (scenario 1: 10,000, 200, 5 → 50,000 memberships).
	SyncUsers     int `json:"syncUsers"`
	SyncGroups    int `json:"syncGroups"`
	GroupsPerUser int `json:"groupsPerUser"`
	// MemberBatch is the number of member ids per Okta group-push PATCH.
	MemberBatch int `json:"memberBatch"`
	// Clients are the IdP concurrency levels (16 and 64).
	Clients []int `json:"clients"`
	// WriteUsers users per round and WriteRounds alternating raw/SCIM rounds
	// of the write ratio (scenario 2).
	WriteUsers  int `json:"writeUsers"`
	WriteRounds int `json:"writeRounds"`
	// ReadScales are the user counts the read latency and memory are
	// measured at (scenarios 3 and 5); the largest is 100,000.
	ReadScales []int `json:"readScales"`
	// ReadQueries is the number of requests per kind of read and round;
	// the page from the middle, which sorts every user, is sent every
	// PageEvery-th time only.
	ReadQueries int `json:"readQueries"`
	PageEvery   int `json:"pageEvery"`
	// DeprovSamples is the number of deactivations per run (scenario 4).
	DeprovSamples int `json:"deprovSamples"`
	// GroupBatch is the number of member ids per PATCH while building the
	// large group of scenario 6, which has as many members as the largest
	// read scale; MemberChanges is the number of single-member changes timed on it.
	GroupBatch    int `json:"groupBatch"`
	MemberChanges int `json:"memberChanges"`
}

// Memberships is the number of (group, user) pairs of the initial sync.
func (s Sizes) Memberships() int { return s.SyncUsers * s.GroupsPerUser }

// BigUsers is the largest read scale: the users of the memory, restart and
// large-group scenarios.
func (s Sizes) BigUsers() int { return s.ReadScales[len(s.ReadScales)-1] }

// SizesFor scales bench/README.md's sizes. Counts never drop below the point where
// a percentile or a ratio still means something.
func SizesFor(scale float64) Sizes {
	n := func(full, floor int) int { return max(floor, int(math.Round(float64(full)*scale))) }
	s := Sizes{
		SyncUsers:     n(10_000, 100),
		SyncGroups:    n(200, 10),
		GroupsPerUser: 5,
		MemberBatch:   100,
		Clients:       []int{16, 64},
		WriteUsers:    n(750, 50),
		WriteRounds:   8,
		ReadScales:    []int{n(1_000, 100), n(10_000, 300), n(100_000, 1_000)},
		ReadQueries:   n(500, 100),
		PageEvery:     5,
		DeprovSamples: n(200, 30),
		MemberChanges: 20,
	}
	s.GroupBatch = min(1000, max(10, s.BigUsers()/100))
	return s
}
