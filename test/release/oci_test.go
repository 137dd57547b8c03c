package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"
)

// ociArchive is an OCI image layout read from an oci-archive tar file.
type ociArchive struct {
	files map[string][]byte
}

// ociDescriptor, ociIndex, ociManifest and ociConfig are the parts of the OCI
// image specification the test reads.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	Config ociDescriptor   `json:"config"`
	Layers []ociDescriptor `json:"layers"`
}

type ociConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string   `json:"User"`
		Entrypoint []string `json:"Entrypoint"`
	} `json:"config"`
}

// platformImage is one image of the index: its descriptor's platform, its
// config, and the regular files of its layers, upper layers winning.
type platformImage struct {
	platform string
	config   ociConfig
	files    map[string][]byte
}

func readArchive(t *testing.T, file string) *ociArchive {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := &ociArchive{files: map[string][]byte{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		if h.Typeflag == tar.TypeReg {
			if a.files[path.Clean(h.Name)], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, ok := a.files["oci-layout"]; !ok {
		t.Fatalf("%s has no oci-layout file: not an OCI archive", file)
	}
	return a
}

// blob returns a blob's content after checking it against its digest.
func (a *ociArchive) blob(t *testing.T, digest string) []byte {
	t.Helper()
	h, ok := strings.CutPrefix(digest, "sha256:")
	data, found := a.files["blobs/sha256/"+h]
	if !ok || !found {
		t.Fatalf("blob %s is not in the archive", digest)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != h {
		t.Fatalf("blob %s does not match its digest", digest)
	}
	return data
}

func (a *ociArchive) decode(t *testing.T, digest string, v any) {
	t.Helper()
	if err := json.Unmarshal(a.blob(t, digest), v); err != nil {
		t.Fatalf("%s: %v", digest, err)
	}
}

// images returns the images of the archive's one top-level entry, an image
// index, by platform (os/arch of the index's descriptors).
func (a *ociArchive) images(t *testing.T) []platformImage {
	t.Helper()
	var top ociIndex
	if err := json.Unmarshal(a.files["index.json"], &top); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("index.json names %+v, want one image index", top.Manifests)
	}
	var idx ociIndex
	a.decode(t, top.Manifests[0].Digest, &idx)
	var images []platformImage
	for _, d := range idx.Manifests {
		if d.MediaType != "application/vnd.oci.image.manifest.v1+json" || d.Platform == nil {
			t.Fatalf("the image index names %+v, want image manifests with a platform", d)
		}
		img := platformImage{platform: d.Platform.OS + "/" + d.Platform.Architecture, files: map[string][]byte{}}
		var m ociManifest
		a.decode(t, d.Digest, &m)
		a.decode(t, m.Config.Digest, &img.config)
		for _, l := range m.Layers {
			readLayer(t, a.blob(t, l.Digest), img.files)
		}
		images = append(images, img)
	}
	return images
}

// readLayer adds a (gzip-compressed) tar layer's regular files to files and
// removes those its whiteouts delete.
func readLayer(t *testing.T, layer []byte, files map[string][]byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(layer)
	if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("reading a layer: %v", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if dir, base := path.Split(name); strings.HasPrefix(base, ".wh.") {
			delete(files, dir+strings.TrimPrefix(base, ".wh."))
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if files[name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink, tar.TypeLink:
			// A link to a shell is a shell: keep its name, with no content.
			files[name] = nil
		}
	}
}
