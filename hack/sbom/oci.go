package main

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/scim-operator/scim-operator/internal/ociarchive"
)

// entrypoint is the binary an image of the archive runs, with its platform.
type entrypoint struct {
	platform string // os/arch
	path     string // in the image
	data     []byte
}

// entrypoints returns the entrypoint binary of every image the archive's
// index.json reaches, through nested indexes (a multi-platform image).
func entrypoints(a *ociarchive.Archive) ([]entrypoint, error) {
	images, err := a.Images()
	if err != nil {
		return nil, err
	}
	var out []entrypoint
	for _, img := range images {
		if len(img.Config.Config.Entrypoint) == 0 {
			return nil, fmt.Errorf("%s: the image has no entrypoint", img.Descriptor.Digest)
		}
		ep := entrypoint{platform: img.Config.OS + "/" + img.Config.Architecture, path: img.Config.Config.Entrypoint[0]}
		files, err := a.Files(img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Descriptor.Digest, err)
		}
		if ep.data = files[strings.TrimPrefix(path.Clean(ep.path), "/")]; ep.data == nil {
			return nil, errors.New("no layer of the " + ep.platform + " image holds its entrypoint " + ep.path + " as a file")
		}
		out = append(out, ep)
	}
	return out, nil
}
