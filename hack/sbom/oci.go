package main

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

// The media types of an OCI image layout this reader follows.
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
)

// descriptor is the part of an OCI content descriptor the reader needs.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform,omitempty"`
}

type index struct {
	Manifests []descriptor `json:"manifests"`
}

type manifest struct {
	Config descriptor   `json:"config"`
	Layers []descriptor `json:"layers"`
}

type imageConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		Entrypoint []string `json:"Entrypoint"`
	} `json:"config"`
}

// entrypoint is the binary an image of the archive runs, with its platform.
type entrypoint struct {
	platform string // os/arch
	path     string // in the image
	data     []byte
}

// archive is an OCI image layout read from a tar file (an oci-archive).
type archive struct {
	files map[string][]byte
}

// readArchive reads the whole OCI archive at file into memory.
func readArchive(file string) (*archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &archive{files: map[string][]byte{}}
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

// blob returns the content of a digest, verified against it.
func (a *archive) blob(digest string) ([]byte, error) {
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

// entrypoints returns the entrypoint binary of every image the archive's
// index.json reaches, through nested indexes (a multi-platform image).
func (a *archive) entrypoints() ([]entrypoint, error) {
	top, ok := a.files["index.json"]
	if !ok {
		return nil, errors.New("the archive has no index.json")
	}
	return a.walk(top, mediaTypeIndex)
}

func (a *archive) walk(data []byte, mediaType string) ([]entrypoint, error) {
	switch mediaType {
	case mediaTypeIndex:
		var idx index
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("parsing an image index: %w", err)
		}
		var all []entrypoint
		for _, d := range idx.Manifests {
			child, err := a.blob(d.Digest)
			if err != nil {
				return nil, err
			}
			eps, err := a.walk(child, d.MediaType)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Digest, err)
			}
			all = append(all, eps...)
		}
		return all, nil
	case mediaTypeManifest:
		ep, err := a.imageEntrypoint(data)
		if err != nil {
			return nil, err
		}
		return []entrypoint{ep}, nil
	default:
		return nil, fmt.Errorf("unsupported media type %q", mediaType)
	}
}

// imageEntrypoint reads an image's config and returns its entrypoint's
// content from the topmost layer that holds it.
func (a *archive) imageEntrypoint(data []byte) (entrypoint, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return entrypoint{}, fmt.Errorf("parsing an image manifest: %w", err)
	}
	raw, err := a.blob(m.Config.Digest)
	if err != nil {
		return entrypoint{}, err
	}
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return entrypoint{}, fmt.Errorf("parsing an image config: %w", err)
	}
	if len(cfg.Config.Entrypoint) == 0 {
		return entrypoint{}, errors.New("the image has no entrypoint")
	}
	ep := entrypoint{platform: cfg.OS + "/" + cfg.Architecture, path: cfg.Config.Entrypoint[0]}
	want := strings.TrimPrefix(path.Clean(ep.path), "/")
	for i := len(m.Layers) - 1; i >= 0; i-- {
		layer, err := a.blob(m.Layers[i].Digest)
		if err != nil {
			return entrypoint{}, err
		}
		if ep.data, err = fileInLayer(layer, want); err != nil {
			return entrypoint{}, fmt.Errorf("layer %s: %w", m.Layers[i].Digest, err)
		}
		if ep.data != nil {
			return ep, nil
		}
	}
	return entrypoint{}, fmt.Errorf("no layer of the %s image holds its entrypoint %s", ep.platform, ep.path)
}

// fileInLayer returns the content of name in a gzip-compressed or plain tar
// layer, or nil when the layer does not hold it.
func fileInLayer(layer []byte, name string) ([]byte, error) {
	var r io.Reader = bytes.NewReader(layer)
	if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg && strings.TrimPrefix(path.Clean(h.Name), "/") == name {
			return io.ReadAll(tr)
		}
	}
}
