package localpg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeBinDir creates dir holding the named executables.
func fakeBinDir(t *testing.T, dir string, names ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	debian := filepath.Join(root, "usr-lib-postgresql")
	fakeBinDir(t, filepath.Join(debian, "9.6", "bin"), "initdb", "postgres")
	v15 := fakeBinDir(t, filepath.Join(debian, "15", "bin"), "initdb", "postgres")
	fakeBinDir(t, filepath.Join(debian, "16", "bin"), "postgres") // incomplete
	explicit := fakeBinDir(t, filepath.Join(root, "explicit"), "initdb", "postgres")
	fromEnv := fakeBinDir(t, filepath.Join(root, "env"), "initdb", "postgres")
	onPath := fakeBinDir(t, filepath.Join(root, "path"), "initdb", "postgres")
	empty := fakeBinDir(t, filepath.Join(root, "empty"))
	noDebian := filepath.Join(root, "absent")

	env := func(pgBin string) func(string) string {
		return func(k string) string {
			if k == "PG_BIN" {
				return pgBin
			}
			return ""
		}
	}
	pathHas := func(dir string) func(string) (string, error) {
		return func(name string) (string, error) {
			if dir == "" {
				return "", errors.New("not found")
			}
			return filepath.Join(dir, name), nil
		}
	}

	cases := map[string]struct {
		reason  string
		lookup  binLookup
		want    string
		wantErr bool
	}{
		"Explicit": {
			reason: "An explicit BinDir wins over everything else.",
			lookup: binLookup{explicit: explicit, getenv: env(fromEnv), debianRoot: debian, lookPath: pathHas(onPath)},
			want:   explicit,
		},
		"ExplicitMissing": {
			reason:  "An explicit BinDir without the binaries is an error, not a silent fallback.",
			lookup:  binLookup{explicit: empty, getenv: env(fromEnv), debianRoot: debian, lookPath: pathHas(onPath)},
			wantErr: true,
		},
		"Env": {
			reason: "PG_BIN comes before the Debian directories.",
			lookup: binLookup{getenv: env(fromEnv), debianRoot: debian, lookPath: pathHas(onPath)},
			want:   fromEnv,
		},
		"NewestCompleteDebianVersion": {
			reason: "Versions sort numerically (15 > 9.6) and an incomplete directory (16) is skipped.",
			lookup: binLookup{getenv: env(""), debianRoot: debian, lookPath: pathHas(onPath)},
			want:   v15,
		},
		"EnvWithoutBinariesFallsBack": {
			reason: "A stale PG_BIN falls through to the next place.",
			lookup: binLookup{getenv: env(empty), debianRoot: debian, lookPath: pathHas("")},
			want:   v15,
		},
		"Path": {
			reason: "Without Debian directories, postgres on PATH is used.",
			lookup: binLookup{getenv: env(""), debianRoot: noDebian, lookPath: pathHas(onPath)},
			want:   onPath,
		},
		"Nowhere": {
			reason:  "Nothing found anywhere reports ErrBinariesMissing.",
			lookup:  binLookup{getenv: env(""), debianRoot: noDebian, lookPath: pathHas("")},
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := findBinDir(tc.lookup)
			if tc.wantErr {
				if !errors.Is(err, ErrBinariesMissing) {
					t.Fatalf("%s\nfindBinDir(...): want ErrBinariesMissing, got %v", tc.reason, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nfindBinDir(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nfindBinDir(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	cases := map[string]struct {
		reason string
		writes []string
		want   string
	}{
		"Short": {
			reason: "Short output is kept whole and trimmed.",
			writes: []string{"a\n", "b\n"},
			want:   "a\nb",
		},
		"Long": {
			reason: "Long output keeps only the end, starting at a line boundary.",
			writes: []string{string(make([]byte, logTailSize)), "\nFATAL: port in use\n"},
			want:   "FATAL: port in use",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lt := &logTail{}
			for _, w := range tc.writes {
				_, _ = lt.Write([]byte(w))
			}
			if diff := cmp.Diff(tc.want, lt.String()); diff != "" {
				t.Errorf("%s\nString(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
