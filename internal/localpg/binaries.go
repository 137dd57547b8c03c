package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrBinariesMissing is returned (wrapped) by Start when initdb or postgres
// cannot be found, so callers can print one actionable line instead of a
// stack of wrapped errors.
var ErrBinariesMissing = errors.New("PostgreSQL server binaries (initdb, postgres) not found; install them with: apt-get install -y postgresql")

// debianRoot is where Debian and Ubuntu install one directory per major
// version; their server binaries are not on $PATH.
const debianRoot = "/usr/lib/postgresql"

// binLookup holds the environment findBinDir consults, so tests can point it
// at fake directories without touching process-wide state.
type binLookup struct {
	explicit   string
	getenv     func(string) string
	debianRoot string
	lookPath   func(string) (string, error)
}

// systemLookup is the lookup Start uses: the real environment and file system.
func systemLookup(explicit string) binLookup {
	return binLookup{explicit: explicit, getenv: os.Getenv, debianRoot: debianRoot, lookPath: exec.LookPath}
}

// findBinDir returns the directory holding both initdb and postgres, in the
// order documented on Options.BinDir.
func findBinDir(l binLookup) (string, error) {
	if l.explicit != "" {
		if hasServerBinaries(l.explicit) {
			return l.explicit, nil
		}
		return "", fmt.Errorf("%w (looked in %s)", ErrBinariesMissing, l.explicit)
	}
	looked := []string{}
	if dir := l.getenv("PG_BIN"); dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		looked = append(looked, dir+" ($PG_BIN)")
	}
	for _, dir := range versionDirs(l.debianRoot) {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	looked = append(looked, filepath.Join(l.debianRoot, "*", "bin"))
	if path, err := l.lookPath("postgres"); err == nil {
		if dir := filepath.Dir(path); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	looked = append(looked, "$PATH")
	return "", fmt.Errorf("%w (looked in %s)", ErrBinariesMissing, strings.Join(looked, ", "))
}

// versionDirs lists root/<version>/bin newest first. Versions compare
// numerically, so 16 sorts before 9.6.
func versionDirs(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	type versioned struct {
		dir   string
		major float64
	}
	var found []versioned
	for _, e := range entries {
		major, err := strconv.ParseFloat(e.Name(), 64)
		if err != nil {
			continue
		}
		found = append(found, versioned{dir: filepath.Join(root, e.Name(), "bin"), major: major})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].major > found[j].major })
	dirs := make([]string, len(found))
	for i, v := range found {
		dirs[i] = v.dir
	}
	return dirs
}

// hasServerBinaries reports whether dir holds executable initdb and postgres.
func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
