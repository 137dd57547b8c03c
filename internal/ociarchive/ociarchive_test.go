package ociarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout builds an oci-archive in memory: blobs by digest, then the tar.
type layout struct{ files map[string][]byte }

func (l *layout) blob(data []byte) string {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	l.files["blobs/sha256/"+h] = data
	return "sha256:" + h
}

func (l *layout) json(v any) string {
	data, _ := json.Marshal(v)
	return l.blob(data)
}

func tarOf(t *testing.T, gz bool, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var z *gzip.Writer
	if gz {
		z = gzip.NewWriter(&buf)
		w = tar.NewWriter(z)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		if err := w.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if z != nil {
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func (l *layout) write(t *testing.T) string {
	t.Helper()
	var entries [][2]string
	for name, data := range l.files {
		entries = append(entries, [2]string{name, string(data)})
	}
	file := filepath.Join(t.TempDir(), "image.oci.tar")
	if err := os.WriteFile(file, tarOf(t, false, entries...), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestImagesThroughNestedIndexesAndLayers(t *testing.T) {
	l := &layout{files: map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
	var descs []Descriptor
	for _, arch := range []string{"amd64", "arm64"} {
		base := l.blob(tarOf(t, true, [2]string{"etc/passwd", "root"}, [2]string{"bin/sh", "shell"}))
		top := l.blob(tarOf(t, false, [2]string{"app", "binary-" + arch}, [2]string{"bin/.wh.sh", ""}))
		cfg := Config{OS: "linux", Architecture: arch}
		cfg.Config.Entrypoint = []string{"/app"}
		m := l.json(Manifest{Config: Descriptor{Digest: l.json(cfg)}, Layers: []Descriptor{{Digest: base}, {Digest: top}}})
		descs = append(descs, Descriptor{MediaType: MediaTypeManifest, Digest: m, Platform: &Platform{OS: "linux", Architecture: arch}})
	}
	idx := l.json(Index{Manifests: descs})
	l.files["index.json"], _ = json.Marshal(Index{Manifests: []Descriptor{{MediaType: MediaTypeIndex, Digest: idx}}})
	a, err := Read(l.write(t))
	if err != nil {
		t.Fatal(err)
	}
	images, err := a.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 {
		t.Fatalf("%d images, want the two the nested index names", len(images))
	}
	for i, img := range images {
		arch := []string{"amd64", "arm64"}[i]
		if img.Descriptor.Platform.Architecture != arch || img.Config.Architecture != arch {
			t.Errorf("image %d is %+v / %s, want %s", i, img.Descriptor.Platform, img.Config.Architecture, arch)
		}
		files, err := a.Files(img)
		if err != nil {
			t.Fatal(err)
		}
		if string(files["app"]) != "binary-"+arch || string(files["etc/passwd"]) != "root" {
			t.Errorf("%s: files %q, want both layers' files", arch, files)
		}
		if _, ok := files["bin/sh"]; ok {
			t.Errorf("%s: bin/sh survived the upper layer's whiteout", arch)
		}
	}
}

func TestBlobMustMatchItsDigest(t *testing.T) {
	l := &layout{files: map[string][]byte{"oci-layout": []byte(`{}`), "index.json": []byte(`{"manifests":[]}`)}}
	d := l.blob([]byte("honest"))
	l.files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")] = []byte("tampered")
	a, err := Read(l.write(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Blob(d); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a tampered blob read as %v, want a digest mismatch", err)
	}
	if _, err := a.Blob("sha256:" + strings.Repeat("0", 64)); err == nil {
		t.Errorf("a missing blob read without error")
	}
}

func TestNotAnOCIArchive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(file, tarOf(t, false, [2]string{"index.json", "{}"}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(file); err == nil || !strings.Contains(err.Error(), "oci-layout") {
		t.Errorf("Read = %v, want a missing oci-layout error", err)
	}
}
