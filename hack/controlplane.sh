#!/usr/bin/env bash
# controlplane.sh builds the real control-plane binaries that envtest, `make dev`
# and the benchmarks run against: kube-apiserver and kubectl v1.37.2 and etcd v3.6.16,
# all from the Go module proxy (no release downloads are needed).
#
# The binaries land in bin/k8s/<k8s-version>-<etcd-version>/ and are reused when
# present, so only the first run pays the build (about 8 minutes on 2 cores).
# It prints the folder on its last line; KUBEBUILDER_ASSETS should point there.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
STAGING_VERSION="0.${K8S_VERSION#1.}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${root}/bin/k8s/${K8S_VERSION}-${ETCD_VERSION}"
mkdir -p "${dest}"

log() { printf '[controlplane] %s\n' "$*" >&2; }

# progress prints a heartbeat while a long build runs, so nobody thinks it hangs.
progress() {
  local pid=$1 what=$2 start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && log "still building ${what} ($((SECONDS - start))s so far)"
  done
}

run_build() {
  local what=$1; shift
  "$@" &
  local pid=$!
  progress "$pid" "$what" &
  local ppid=$!
  local rc=0
  wait "$pid" || rc=$?
  kill "$ppid" 2>/dev/null || true
  wait "$ppid" 2>/dev/null || true
  return "$rc"
}

if ! command -v go >/dev/null; then
  log "error: Go is not installed; install Go 1.26 first"
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# Without these the binaries call themselves v0.0.0-master, and Helm's
# kubeVersion check (Chart.yaml) refuses the server. The stamp file tells
# binaries built with them from older ones, which are rebuilt.
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=${K8S_VERSION%%.*}"
  K8S_LDFLAGS+=" -X ${pkg}.gitMinor=$(cut -d. -f2 <<<"${K8S_VERSION}") -X ${pkg}.gitTreeState=clean"
done
stamp="${dest}/.k8s-ldflags"

build_k8s() {
  local need=()
  if [[ "$(cat "${stamp}" 2>/dev/null)" != "${K8S_LDFLAGS}" ]]; then
    need=(kube-apiserver kubectl)
  else
    [[ -x "${dest}/kube-apiserver" ]] || need+=(kube-apiserver)
    [[ -x "${dest}/kubectl" ]] || need+=(kubectl)
  fi
  [[ ${#need[@]} -eq 0 ]] && return 0

  log "building ${need[*]} v${K8S_VERSION} from the Go module proxy (first time: about 8 minutes)"
  local mod="${work}/k8s"
  mkdir -p "${mod}"
  (
    cd "${mod}"
    go mod init scim-operator.io/controlplane-build >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}"
    go mod download "k8s.io/kubernetes@v${K8S_VERSION}"
    local kmod
    kmod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
    # k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them with
    # local folders; outside its repo we point them at the published v0.x.y tags.
    local staging
    for staging in $(awk '$1 ~ /^k8s.io\// && $2 == "v0.0.0" {print $1}' "${kmod}" | sort -u); do
      go mod edit -replace="${staging}=${staging}@v${STAGING_VERSION}"
    done
    cat > tools.go <<'GO'
//go:build tools

package tools
GO
    go mod tidy >/dev/null 2>&1 || true
    local cmd
    for cmd in "${need[@]}"; do
      log "go build k8s.io/kubernetes/cmd/${cmd}"
      run_build "${cmd}" env CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="${K8S_LDFLAGS}" -o "${dest}/${cmd}.tmp" "k8s.io/kubernetes/cmd/${cmd}"
      mv "${dest}/${cmd}.tmp" "${dest}/${cmd}"
    done
  )
  printf '%s' "${K8S_LDFLAGS}" > "${stamp}"
}

build_etcd() {
  [[ -x "${dest}/etcd" ]] && return 0
  log "building etcd v${ETCD_VERSION} from the Go module proxy (about a minute)"
  local mod="${work}/etcd"
  mkdir -p "${mod}"
  (
    cd "${mod}"
    go mod init scim-operator.io/etcd-build >/dev/null 2>&1
    cat > main.go <<'GO'
// Command etcd runs the etcd server for the local control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod edit -require="go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
    go mod tidy >/dev/null
    run_build etcd env CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${dest}/etcd" .
  )
}

build_etcd
build_k8s
log "control plane ready in ${dest}"
echo "${dest}"
