package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// bom is a CycloneDX 1.5 document (https://cyclonedx.org/docs/1.5/json/),
// reduced to the fields this generator writes.
type bom struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     metadata     `json:"metadata"`
	Components   []component  `json:"components"`
	Dependencies []dependency `json:"dependencies"`
}

type metadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     tools     `json:"tools"`
	Component component `json:"component"`
}

type tools struct {
	Components []component `json:"components"`
}

type component struct {
	BOMRef     string     `json:"bom-ref,omitempty"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	PURL       string     `json:"purl,omitempty"`
	Properties []property `json:"properties,omitempty"`
}

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// goModule is one module linked into a binary, after replacements.
type goModule struct{ path, version string }

// newBOM describes the Go binaries of one release: the main module at
// version (a Go module version, "v1.2.3"), the standard library and every
// module linked into any of the binaries. The binaries of the platforms are
// built from one build list; a module linked for one platform only is listed
// once all the same.
func newBOM(mainPath, version string, created time.Time, binaries []entrypoint) (*bom, error) {
	if len(binaries) == 0 {
		return nil, fmt.Errorf("no binary to describe")
	}
	binaries = slices.SortedFunc(slices.Values(binaries), func(a, b entrypoint) int { return strings.Compare(a.platform, b.platform) })
	mods := map[goModule]bool{}
	var goVersion string
	main := component{Type: "application", Name: mainPath, Version: version, PURL: purl(mainPath, version)}
	main.BOMRef = main.PURL
	for _, b := range binaries {
		info, err := buildinfo.Read(bytes.NewReader(b.data))
		if err != nil {
			return nil, fmt.Errorf("reading the build information of %s (%s): %w", b.path, b.platform, err)
		}
		if info.Main.Path != mainPath {
			return nil, fmt.Errorf("%s (%s) is built from module %q, want %q", b.path, b.platform, info.Main.Path, mainPath)
		}
		if goVersion != "" && info.GoVersion != goVersion {
			return nil, fmt.Errorf("the binaries are built by %s and %s", goVersion, info.GoVersion)
		}
		goVersion = info.GoVersion
		main.Properties = append(main.Properties, property{Name: "scim-operator:platform", Value: b.platform})
		for _, d := range info.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			mods[goModule{d.Path, d.Version}] = true
		}
	}

	doc := &bom{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: metadata{
			Timestamp: created.UTC().Format(time.RFC3339),
			Tools: tools{Components: []component{{Type: "application", Name: mainPath + "/hack/sbom",
				Properties: []property{{Name: "scim-operator:source", Value: "docs/releasing.md"}}}}},
			Component: main,
		},
	}
	std := component{Type: "library", Name: "stdlib", Version: goVersion,
		PURL: "pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go")}
	std.BOMRef = std.PURL
	doc.Components = append(doc.Components, std)
	for _, m := range slices.SortedFunc(maps.Keys(mods), func(a, b goModule) int {
		return strings.Compare(a.path+"@"+a.version, b.path+"@"+b.version)
	}) {
		c := component{Type: "library", Name: m.path, Version: m.version, PURL: purl(m.path, m.version)}
		c.BOMRef = c.PURL
		doc.Components = append(doc.Components, c)
	}
	deps := dependency{Ref: main.BOMRef}
	for _, c := range doc.Components {
		deps.DependsOn = append(deps.DependsOn, c.BOMRef)
	}
	doc.Dependencies = []dependency{deps}

	// The serial number is derived from the content, so that the same
	// release gives the same document: a UUID of version 8 (RFC 9562).
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	sum[6] = sum[6]&0x0f | 0x80
	sum[8] = sum[8]&0x3f | 0x80
	doc.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return doc, nil
}

// purl returns the package URL of a Go module
// (https://github.com/package-url/purl-spec, type golang).
func purl(path, version string) string {
	segments := strings.Split(path, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return "pkg:golang/" + strings.Join(segments, "/") + "@" +
		strings.ReplaceAll(url.PathEscape(version), "+", "%2B") + "?type=module"
}
