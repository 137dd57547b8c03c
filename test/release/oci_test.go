package release

import (
	"testing"

	"github.com/scim-operator/scim-operator/internal/ociarchive"
)

// platformImage is one image of the index: its descriptor's platform, its
// config, and the regular files of its layers, upper layers winning.
type platformImage struct {
	platform string
	config   ociarchive.Config
	files    map[string][]byte
}

// images returns the images of the archive's one top-level entry, an image
// index, by platform (os/arch of the index's descriptors).
func images(t *testing.T, file string) []platformImage {
	t.Helper()
	a, err := ociarchive.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	top, err := a.Top()
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != ociarchive.MediaTypeIndex {
		t.Fatalf("index.json names %+v, want one image index", top.Manifests)
	}
	all, err := a.Images()
	if err != nil {
		t.Fatal(err)
	}
	var out []platformImage
	for _, img := range all {
		d := img.Descriptor
		if d.MediaType != ociarchive.MediaTypeManifest || d.Platform == nil {
			t.Fatalf("the image index names %+v, want image manifests with a platform", d)
		}
		files, err := a.Files(img)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, platformImage{platform: d.Platform.OS + "/" + d.Platform.Architecture, config: img.Config, files: files})
	}
	return out
}
