package operator

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Where the container's memory limit is read from, relative to /sys/fs/cgroup:
// cgroup v2's memory.max, else cgroup v1's memory controller.
var cgroupLimitFiles = []string{"memory.max", "memory/memory.limit_in_bytes"}

// cgroupMemoryLimit returns the memory limit of the cgroup mounted at fsys
// (/sys/fs/cgroup), or 0 when there is none. cgroup v1 spells "no limit" as
// a number near 2^63.
func cgroupMemoryLimit(fsys fs.FS) (int64, error) {
	for _, name := range cgroupLimitFiles {
		raw, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		v := strings.TrimSpace(string(raw))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, &strconv.NumError{Func: "reading " + name, Num: v, Err: err}
		}
		if n <= 0 || n >= math.MaxInt64/2 {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}

// nonGoReserve is the resident memory a container's limit counts and the Go
// runtime's does not: the binary's code and read-only data, paged in as they
// run. The operator's RSS with no users is about 53 MiB for a 5 MiB heap
// (make bench, scenario 5).
const nonGoReserve = 48 << 20

// SoftLimit is the Go soft memory limit for a container memory limit: ratio
// of what is left once the memory the runtime does not manage is set aside,
// and at least a quarter of the limit. With ratio times the whole limit, the
// heap may grow until RSS passes the limit by that memory: at 100,000 users
// in a container of 443 MiB, a soft limit of 399 MiB let RSS peak at 475 MiB.
func SoftLimit(limit int64, ratio float64) int64 {
	return max(int64(float64(limit-nonGoReserve)*min(ratio, 1)), limit/4)
}

// SetMemoryLimit sets the Go runtime's soft memory limit from the
// container's memory limit (SoftLimit), and returns it (0 when it set none).
// The informer cache holds every user, and with the default GOGC the heap
// grows to twice its live size between collections: at 100,000 users, about
// 230 MiB live and 610–860 MiB of RSS. Under the soft limit the collector
// works harder as the heap nears it instead of letting the container be
// killed. A GOMEMLIMIT in the environment wins; ratio 0 turns this off.
func SetMemoryLimit(ratio float64) (int64, error) {
	if ratio <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := cgroupMemoryLimit(os.DirFS("/sys/fs/cgroup"))
	if err != nil || limit == 0 {
		return 0, err
	}
	soft := SoftLimit(limit, ratio)
	debug.SetMemoryLimit(soft)
	return soft, nil
}
