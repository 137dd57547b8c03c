// Package image tests the Dockerfile twice: without a container engine, it
// replays the builder stage's COPY and RUN lines on a copy of the repository
// and inspects the binary the final stage ships; with podman (skipped where it
// is not installed), it builds the image from locally assembled bases and runs
// it as the chart's Deployments do.
package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// dockerfile is the parsed part of the Dockerfile the test replays.
type dockerfile struct {
	args        []string // the ARG lines before the first FROM
	builderFrom string   // the first FROM line
	copies      []string // sources of the builder stage's COPY lines (not --from)
	build       string   // the RUN line that runs go build
	final       []string // the lines of the last stage
}

func parse(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	stages := 0
	for _, l := range logical {
		fields := strings.Fields(l)
		switch strings.ToUpper(fields[0]) {
		case "ARG":
			if stages == 0 {
				d.args = append(d.args, l)
			}
		case "FROM":
			stages++
			d.final = nil
			if stages == 1 {
				d.builderFrom = l
			}
		case "COPY":
			if stages == 1 && !strings.HasPrefix(fields[1], "--from") {
				d.copies = append(d.copies, fields[1:len(fields)-1]...)
			}
		case "RUN":
			if strings.Contains(l, "go build") {
				d.build = strings.TrimSpace(l[len("RUN"):])
			}
		}
		if stages > 1 {
			d.final = append(d.final, l)
		}
	}
	if stages != 2 || d.build == "" || len(d.copies) == 0 {
		t.Fatalf("Dockerfile: %d stages, build %q, copies %v; want a builder and a final stage", stages, d.build, d.copies)
	}
	return d
}

// TestImageBuild replays the builder stage twice, in two folders holding only
// what the Dockerfile copies: the build must succeed from go.mod alone
// (-mod=readonly), produce a static binary without build paths, and produce
// it bit for bit again.
func TestImageBuild(t *testing.T) {
	d := parse(t)
	snapshot := t.TempDir()
	for _, src := range d.copies {
		out, err := exec.Command("cp", "-R", filepath.Join(controlplane.RepoRoot(), strings.TrimSuffix(src, "/")), snapshot).CombinedOutput()
		if err != nil {
			t.Fatalf("COPY %s: %v: %s", src, err, out)
		}
	}
	first := replay(t, d, snapshot)
	second := replay(t, d, snapshot)
	if first != second {
		t.Fatalf("two builds differ (sha256 %x and %x): the build is not reproducible", first, second)
	}
}

// replay copies the snapshot of the COPYed sources to a new folder (so the
// two builds differ in their path) and runs the RUN line there. It returns the
// binary's sha256.
func replay(t *testing.T, d dockerfile, snapshot string) [32]byte {
	t.Helper()
	root := controlplane.RepoRoot()
	work := t.TempDir()
	if out, err := exec.Command("cp", "-R", snapshot+"/.", work).CombinedOutput(); err != nil {
		t.Fatalf("copying the sources: %v: %s", err, out)
	}
	// The RUN line writes to /out; the replay writes to the work folder and
	// builds for this machine's architecture.
	cmd := strings.ReplaceAll(d.build, "/out/", work+"/out/")
	cmd = regexp.MustCompile(`GOARCH=\$\{TARGETARCH\}`).ReplaceAllString(cmd, "")
	cmd = strings.ReplaceAll(cmd, "${TARGETOS}", "linux")
	sh := exec.Command("sh", "-c", cmd)
	sh.Dir = work
	sh.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("RUN %s: %v\n%s\n(does the Dockerfile COPY every package the manager imports?)", d.build, err, out)
	}
	bin := filepath.Join(work, "out", "scim-operator")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (%v): distroless/static has no libc", p.Type)
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root)) || bytes.Contains(data, []byte(work)) {
		t.Fatalf("the binary embeds a build path: -trimpath is missing")
	}
	return sha256.Sum256(data)
}

// TestImageBasesDefaultToThePublishedOnes: the bases are build arguments
// (offline builds supply local equivalents) whose defaults are golang:1.26
// and distroless static nonroot, and the stages are built from them.
func TestImageBasesDefaultToThePublishedOnes(t *testing.T) {
	d := parse(t)
	args := strings.Join(d.args, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ARG BUILDER_IMAGE=golang:1\.26$`),
		regexp.MustCompile(`(?m)^ARG BASE_IMAGE=gcr\.io/distroless/static(-debian\d+)?:nonroot$`),
	} {
		if !want.MatchString(args) {
			t.Errorf("the Dockerfile's global ARGs lack %s:\n%s", want, args)
		}
	}
	if !regexp.MustCompile(`^FROM (--platform=\S+ )?\$\{BUILDER_IMAGE\} AS builder$`).MatchString(d.builderFrom) {
		t.Errorf("the builder stage is %q, want it FROM ${BUILDER_IMAGE}", d.builderFrom)
	}
	if len(d.final) == 0 || d.final[0] != "FROM ${BASE_IMAGE}" {
		t.Errorf("the final stage starts with %q, want FROM ${BASE_IMAGE}", d.final)
	}
}

// TestImageRunsAsNonRoot checks the final stage: a numeric non-root user
// (runAsNonRoot can only verify a numeric one), the binary as entrypoint.
func TestImageRunsAsNonRoot(t *testing.T) {
	d := parse(t)
	final := strings.Join(d.final, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^USER 65532:65532$`),
		regexp.MustCompile(`(?m)^ENTRYPOINT \["/scim-operator"\]$`),
	} {
		if !want.MatchString(final) {
			t.Errorf("the final stage lacks %s:\n%s", want, final)
		}
	}
	if regexp.MustCompile(`(?m)^USER (0|root)\b`).MatchString(final) {
		t.Errorf("the final stage switches to root:\n%s", final)
	}
}
