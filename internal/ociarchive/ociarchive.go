// Package ociarchive reads an OCI image layout from an oci-archive tar file,
// as `make release` writes one (docs/releasing.md): the index, the images it
// reaches through nested indexes, their configs, and their layers' files.
// hack/sbom reads the binaries of a release's images with it, and
// test/release checks the images with it.
package ociarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Media types of an OCI image layout this package follows.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
)

// Platform is a descriptor's platform.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// Descriptor is the part of an OCI content descriptor this package reads.
type Descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Platform  *Platform `json:"platform,omitempty"`
}

// Index is an image index (index.json, or a multi-platform image).
type Index struct {
	Manifests []Descriptor `json:"manifests"`
}

// Manifest is an image manifest.
type Manifest struct {
	Config Descriptor   `json:"config"`
	Layers []Descriptor `json:"layers"`
}

// Config is the part of an image configuration this package reads.
type Config struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string   `json:"User"`
		Entrypoint []string `json:"Entrypoint"`
	} `json:"config"`
}

// Image is one image the archive's index reaches.
type Image struct {
	// Descriptor is how the index naming the image describes it.
	Descriptor Descriptor
	Manifest   Manifest
	Config     Config
}

// Archive is an OCI image layout held in memory.
type Archive struct {
	files map[string][]byte
}

// Read reads the whole oci-archive at file into memory.
func Read(file string) (*Archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &Archive{files: map[string][]byte{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s in %s: %w", h.Name, file, err)
		}
		a.files[path.Clean(h.Name)] = data
	}
	if _, ok := a.files["oci-layout"]; !ok {
		return nil, fmt.Errorf("%s is not an OCI archive: no oci-layout file", file)
	}
	return a, nil
}

// Blob returns the content of a digest, verified against it.
func (a *Archive) Blob(digest string) ([]byte, error) {
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("unsupported digest %q", digest)
	}
	data, ok := a.files["blobs/sha256/"+hexDigest]
	if !ok {
		return nil, fmt.Errorf("blob %s is missing", digest)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hexDigest {
		return nil, fmt.Errorf("blob %s does not match its digest", digest)
	}
	return data, nil
}

// decode parses the JSON blob of a digest into v.
func (a *Archive) decode(digest string, v any) error {
	data, err := a.Blob(digest)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parsing %s: %w", digest, err)
	}
	return nil
}

// Top returns the archive's index.json.
func (a *Archive) Top() (Index, error) {
	var idx Index
	data, ok := a.files["index.json"]
	if !ok {
		return idx, errors.New("the archive has no index.json")
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, fmt.Errorf("parsing index.json: %w", err)
	}
	return idx, nil
}

// Images returns every image index.json reaches, through nested indexes (a
// multi-platform image), in the order the indexes list them.
func (a *Archive) Images() ([]Image, error) {
	top, err := a.Top()
	if err != nil {
		return nil, err
	}
	return a.images(top, 0)
}

// maxDepth bounds nested indexes: a layout naming itself would loop.
const maxDepth = 4

func (a *Archive) images(idx Index, depth int) ([]Image, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("image indexes nested deeper than %d", maxDepth)
	}
	var out []Image
	for _, d := range idx.Manifests {
		switch d.MediaType {
		case MediaTypeIndex:
			var child Index
			if err := a.decode(d.Digest, &child); err != nil {
				return nil, err
			}
			imgs, err := a.images(child, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Digest, err)
			}
			out = append(out, imgs...)
		case MediaTypeManifest:
			img := Image{Descriptor: d}
			if err := a.decode(d.Digest, &img.Manifest); err != nil {
				return nil, err
			}
			if err := a.decode(img.Manifest.Config.Digest, &img.Config); err != nil {
				return nil, err
			}
			out = append(out, img)
		default:
			return nil, fmt.Errorf("%s: unsupported media type %q", d.Digest, d.MediaType)
		}
	}
	return out, nil
}

// Files returns an image's file system: the regular files of its layers by
// path without the leading slash, upper layers winning and whiteouts
// deleting. A symbolic or hard link is listed with no content, so a link to
// a program still names it.
func (a *Archive) Files(img Image) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, l := range img.Manifest.Layers {
		layer, err := a.Blob(l.Digest)
		if err != nil {
			return nil, err
		}
		if err := readLayer(layer, files); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	return files, nil
}

// readLayer adds a gzip-compressed or plain tar layer's files to files and
// removes those its whiteouts delete.
func readLayer(layer []byte, files map[string][]byte) error {
	var r io.Reader = bytes.NewReader(layer)
	if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if dir, base := path.Split(name); strings.HasPrefix(base, ".wh.") {
			delete(files, dir+strings.TrimPrefix(base, ".wh."))
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if files[name], err = io.ReadAll(tr); err != nil {
				return err
			}
		case tar.TypeSymlink, tar.TypeLink:
			files[name] = nil
		}
	}
}
