#!/usr/bin/env bash
# Assembles local stand-ins for the Dockerfile's two bases from this machine,
# for building the image where registries cannot be reached (see
# docs/install.md, "Building the image offline"). Used by `make release` and
# by test/image.
#
#   hack/bases.sh BUILDER_REF BASE_REF [PLATFORMS]
#
# BUILDER_REF: golang:1.26's layout for the build platform (this machine): the
#   host's GOROOT at /usr/local/go, /bin/sh with the libraries it loads,
#   GOPATH /go, and GOPROXY=file:///goproxy — the caller mounts the host's
#   module cache (`go env GOMODCACHE`/cache/download) there while it builds.
# BASE_REF: distroless/static:nonroot's content that the manager can notice —
#   CA certificates, /etc/passwd and /etc/group with nonroot (65532), /tmp and
#   nonroot's home — as a manifest list with one image per platform of
#   PLATFORMS (comma-separated, default linux/<host arch>). Its files do not
#   depend on the architecture and no RUN line builds it, so no emulation is
#   needed for another architecture.
#
# PODMAN is the podman command to run (default: podman).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 BUILDER_REF BASE_REF [PLATFORMS]" >&2
  exit 2
fi
builder_ref=$1 base_ref=$2
platforms=${3:-linux/$(go env GOARCH)}
read -r -a podman <<<"${PODMAN:-podman}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# copy SRC DST: SRC (a file, or a folder's content with "dir/.") to DST,
# following SRC if it is a symbolic link; links inside a folder are kept.
copy() {
  mkdir -p "$(dirname "$2")"
  cp -a -H "$1" "$2"
}

# The builder: the host's toolchain and shell.
ctx=$work/builder
copy "$(go env GOROOT)/." "$ctx/usr/local/go"
sh=$(readlink -f /bin/sh)
copy "$sh" "$ctx/bin/sh"
# ldd prints "libc.so.6 => /lib/.../libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)";
# nothing for a static shell. The loader's path is often a link (/lib64 -> usr/lib64).
if libs=$(ldd "$sh" 2>&1); then
  while read -r lib; do
    copy "$lib" "$ctx$lib"
  done < <(sed -nE 's/^.*(=> |^[[:space:]]*)(\/[^ ]+) \(0x[0-9a-f]+\)$/\2/p' <<<"$libs")
elif ! grep -q 'not a dynamic executable' <<<"$libs"; then
  echo "ldd $sh: $libs" >&2
  exit 1
fi
mkdir -p "$ctx/tmp" "$ctx/go" "$ctx/root"
chmod 1777 "$ctx/tmp"
cat >"$work/builder.Dockerfile" <<'EOF'
FROM scratch
COPY . /
ENV PATH=/usr/local/go/bin:/go/bin:/usr/bin:/bin GOPATH=/go HOME=/root GOTOOLCHAIN=local \
    GOPROXY=file:///goproxy GOSUMDB=off
WORKDIR /go
EOF
"${podman[@]}" build --pull=never --quiet -t "$builder_ref" -f "$work/builder.Dockerfile" "$ctx" >/dev/null

# The runtime base.
ctx=$work/base
bundle=/etc/ssl/certs/ca-certificates.crt
if [[ ! -f $bundle ]]; then
  echo "the runtime base needs the host's CA certificates: $bundle is missing (apt-get install -y ca-certificates)" >&2
  exit 1
fi
copy "$bundle" "$ctx$bundle"
mkdir -p "$ctx/etc" "$ctx/tmp" "$ctx/home/nonroot"
chmod 1777 "$ctx/tmp"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$ctx/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$ctx/etc/group"
cat >"$work/base.Dockerfile" <<'EOF'
FROM scratch
COPY . /
COPY --chown=65532:65532 home/nonroot /home/nonroot
USER 65532:65532
EOF
if "${podman[@]}" manifest exists "$base_ref"; then
  "${podman[@]}" manifest rm "$base_ref" >/dev/null
fi
# --layers=false: podman 4.3 reuses one platform's cached steps for another's
# image, and the list would then name only one platform. With
# SOURCE_DATE_EPOCH (hack/release.sh sets it) the base is the same on every
# run, and so is the image built on it.
"${podman[@]}" build --pull=never --layers=false --quiet --platform "$platforms" --manifest "$base_ref" \
  ${SOURCE_DATE_EPOCH:+--timestamp "$SOURCE_DATE_EPOCH"} -f "$work/base.Dockerfile" "$ctx" >/dev/null
