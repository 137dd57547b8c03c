#!/usr/bin/env bash
# Builds the release artifacts of VERSION into DIST (docs/releasing.md):
#
#   scim-operator-<v>.tgz        the Helm chart, version and appVersion <v> (so the image tag is <v>)
#   scim-operator-<v>.oci.tar    the image for each of PLATFORMS, an OCI archive whose index.json
#                                names one image index, tagged <v>
#   scim-operator-<v>.cdx.json   the CycloneDX SBOM of the image's binaries (hack/sbom)
#   kubectl-scim-<v>-<os>-<arch>.tar.gz
#                                the kubectl plugin (docs/kubectl.md) for each of PLUGIN_PLATFORMS
#   SHA256SUMS                   the sha256 of them all
#
# VERSION    x.y.z or x.y.z-pre (no "v", no "+build": it is also the image tag);
#            default: the latest v* tag `git describe` finds, else Chart.yaml's version
# DIST       output folder (default dist)
# BASES      local (default): bases assembled from this machine by hack/bases.sh,
#            no registry needed; published: the Dockerfile's defaults, pulled
# PLATFORMS  default linux/amd64,linux/arm64
# PLUGIN_PLATFORMS  default linux/amd64,linux/arm64,darwin/amd64,darwin/arm64
# HELM       the Helm binary (the Makefile passes bin/helm-<version>)
# PODMAN_RUNTIME  podman's OCI runtime (default: runc when installed; crun
#            fails on some machines, see docs/install.md)
#
# podman runs against a private storage folder that is removed at the end, so
# the build neither reads nor leaves images in the machine's storage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z ${VERSION:-} ]]; then
  if tag=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
    VERSION=${tag#v}
  else
    VERSION=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/scim-operator/Chart.yaml)
  fi
fi
if ! [[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "VERSION=$VERSION: want x.y.z or x.y.z-pre (semantic version, no leading v, no +build)" >&2
  exit 2
fi
DIST=${DIST:-dist}
BASES=${BASES:-local}
PLATFORMS=${PLATFORMS:-linux/amd64,linux/arm64}
PLUGIN_PLATFORMS=${PLUGIN_PLATFORMS:-linux/amd64,linux/arm64,darwin/amd64,darwin/arm64}
HELM=${HELM:-helm}
case $BASES in local | published) ;; *)
  echo "BASES=$BASES: want local or published" >&2
  exit 2
  ;;
esac

name=scim-operator-$VERSION
chart=$DIST/$name.tgz archive=$DIST/$name.oci.tar sbom=$DIST/$name.cdx.json
mkdir -p "$DIST"
rm -f "$chart" "$archive" "$sbom" "$DIST/SHA256SUMS" "$DIST"/kubectl-scim-"$VERSION"-*.tar.gz
# The release commit's time: the image's creation time and file times and the SBOM's timestamp.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
revision=$(git rev-parse HEAD)

step() { printf '==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

step "chart $chart"
"$HELM" package charts/scim-operator --version "$VERSION" --app-version "$VERSION" --destination "$DIST" >/dev/null

# podman with its own storage, runc when installed, no systemd.
state=$(mktemp -d "${TMPDIR:-/tmp}/scim-release-podman-XXXXXX")
printf '[containers]\ndefault_ulimits = []\n' >"$state/containers.conf"
export CONTAINERS_CONF=$state/containers.conf
# The Dockerfile's golang:1.26 is a short name: resolve it to Docker Hub
# without asking (there is no terminal in CI).
printf 'unqualified-search-registries = ["docker.io"]\n' >"$state/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$state/registries.conf
runtime=${PODMAN_RUNTIME:-$(command -v runc || { [[ -x /usr/sbin/runc ]] && echo /usr/sbin/runc; } || true)}
PODMAN="podman --root $state/storage --runroot $state/run --tmpdir $state/tmp --storage-driver overlay"
PODMAN+=" --cgroup-manager=cgroupfs --events-backend=none${runtime:+ --runtime $runtime}"
export PODMAN
read -r -a podman <<<"$PODMAN"
cleanup() {
  "${podman[@]}" system reset --force >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

image=localhost/scim-operator:$VERSION
build_platform=linux/$("${podman[@]}" info --format '{{.Host.Arch}}')
args=(build --network=host --layers=false --platform "$PLATFORMS" --manifest "$image"
  # podman sets neither BUILDPLATFORM nor, without --platform, TARGETARCH as BuildKit does.
  --build-arg "BUILDPLATFORM=$build_platform"
  --timestamp "$SOURCE_DATE_EPOCH"
  --label "org.opencontainers.image.version=$VERSION" --label "org.opencontainers.image.revision=$revision"
  --annotation "org.opencontainers.image.version=$VERSION" --annotation "org.opencontainers.image.revision=$revision")
if [[ $BASES == local ]]; then
  step "local bases (hack/bases.sh) for $PLATFORMS"
  # The builder's GOPROXY is the host's module cache: it must hold every
  # go.mod of the module graph, which builds alone do not fetch.
  go mod download
  hack/bases.sh localhost/scim-release/builder:local localhost/scim-release/static-nonroot:local "$PLATFORMS"
  # The host's build cache is mounted writable: the first release compiles
  # each platform's packages once (minutes on 2 cores), later ones reuse them.
  args+=(--pull=never
    --build-arg BUILDER_IMAGE=localhost/scim-release/builder:local
    --build-arg BASE_IMAGE=localhost/scim-release/static-nonroot:local
    -v "$(go env GOMODCACHE)/cache/download:/goproxy:ro")
  cache=$(go env GOCACHE)
  if [[ -d $cache ]]; then
    args+=(-v "$cache:/root/.cache/go-build")
  fi
fi
step "image $image for $PLATFORMS"
# --layers=false: no intermediate image is committed (the module cache of the
# builder stage is large), and podman 4.3, which reuses one platform's cached
# steps for another's image, has no cache to reuse.
"${podman[@]}" "${args[@]}" -f Dockerfile . >&2
step "archive $archive"
"${podman[@]}" manifest push --all --format oci "$image" "oci-archive:$archive:$VERSION" >&2

step "SBOM $sbom"
go run ./hack/sbom -archive "$archive" -version "$VERSION" -o "$sbom"

plugins=()
IFS=, read -ra plugin_platforms <<<"$PLUGIN_PLATFORMS"
for platform in "${plugin_platforms[@]}"; do
  os=${platform%/*} arch=${platform#*/}
  plugin=kubectl-scim-$VERSION-$os-$arch.tar.gz
  step "plugin $DIST/$plugin"
  work=$(mktemp -d)
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w -buildid=" -o "$work/kubectl-scim" ./cmd/kubectl-scim
  cp LICENSE "$work/"
  # Reproducible: fixed owner, order and times (the release commit's).
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$work" -cf - kubectl-scim LICENSE | gzip -n >"$DIST/$plugin"
  rm -rf "$work"
  plugins+=("$plugin")
done

(cd "$DIST" && sha256sum "$name.tgz" "$name.oci.tar" "$name.cdx.json" "${plugins[@]}" >SHA256SUMS)
step "done: $(cd "$DIST" && pwd)"
cat "$DIST/SHA256SUMS"
