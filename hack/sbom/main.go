// Command sbom writes the CycloneDX SBOM of a release's image: it reads the
// entrypoint binary of every platform's image in an OCI archive and lists the
// Go modules and standard library its build information says it was linked
// from. `make release` runs it (docs/releasing.md).
//
// It reads the binaries rather than go.mod, so the list is what the image
// ships: modules of the build list that no package of the binary imports are
// not in it, and a replaced module is listed as its replacement.
//
//	go run ./hack/sbom -archive dist/scim-operator-1.2.3.oci.tar -version 1.2.3 -o dist/scim-operator-1.2.3.cdx.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/scim-operator/scim-operator/internal/ociarchive"
)

func main() {
	archivePath := flag.String("archive", "", "OCI archive of the image (oci-archive), one image or an index of several platforms.")
	version := flag.String("version", "", "Release version (1.2.3); the module's version is v1.2.3.")
	module := flag.String("module", "github.com/scim-operator/scim-operator", "Main module the binaries must be built from.")
	out := flag.String("o", "", "Output file (default: standard output).")
	flag.Parse()
	if err := run(*archivePath, *version, *module, *out); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(archivePath, version, module, out string) error {
	if archivePath == "" || version == "" {
		return fmt.Errorf("-archive and -version are required")
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	a, err := ociarchive.Read(archivePath)
	if err != nil {
		return err
	}
	binaries, err := entrypoints(a)
	if err != nil {
		return fmt.Errorf("%s: %w", archivePath, err)
	}
	doc, err := newBOM(module, "v"+version, created, binaries)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// sourceDate is the document's timestamp: SOURCE_DATE_EPOCH (the release
// commit's time, set by hack/release.sh) so that a rebuild gives the same
// document, or now.
func sourceDate() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Now(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(secs, 0), nil
}
