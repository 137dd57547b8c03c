package testharness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is a process seen in Linux's /proc, for tests that prove a parent
// leaves no process behind. Elsewhere Descendants finds none.
type Proc struct {
	PID  int
	Name string
	// start is the process's start time, so that a reused pid does not
	// count as the process.
	start string
}

func (p Proc) String() string { return fmt.Sprintf("%s(%d)", p.Name, p.PID) }

// Gone reports whether the process no longer runs. A zombie counts as gone,
// since a container's init may never reap it.
func (p Proc) Gone() bool {
	f := statFields(p.PID)
	return f == nil || f[0] == "Z" || f[19] != p.start
}

// Descendants lists the processes below pid, children before grandchildren.
func Descendants(pid int) []Proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); f != nil {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []Proc
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if proc, ok := LookupProc(p); ok {
			out = append(out, proc)
		}
		queue = append(queue, children[p]...)
	}
	return out
}

// LookupProc returns the process pid, if it runs.
func LookupProc(pid int) (Proc, bool) {
	f := statFields(pid)
	if f == nil {
		return Proc{}, false
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return Proc{PID: pid, Name: strings.TrimSpace(string(comm)), start: f[19]}, true
}

// statFields returns the fields of /proc/<pid>/stat after the name (which
// may hold spaces): state first, ppid second, start time twentieth; nil when
// there is no such process.
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return nil
	}
	return f
}
