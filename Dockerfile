# syntax=docker/dockerfile:1
# Builds the scim-operator manager image: a static Go binary on distroless, running
# as the non-root user 65532. The build depends only on go.mod/go.sum and the
# sources; no network access is needed after `go mod download`.
#
# The bases are build arguments so that the image can be built where registries
# cannot be reached, from locally assembled equivalents (see docs/install.md,
# "Building the image offline"): BUILDER_IMAGE must provide the Go toolchain and
# /bin/sh, BASE_IMAGE a static root filesystem with CA certificates and the user
# 65532.
ARG BUILDER_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static:nonroot

FROM --platform=$BUILDPLATFORM ${BUILDER_IMAGE} AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /workspace

# Dependencies first, so this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

# Only the packages the manager is built from (see `go list -deps .`).
COPY main.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
COPY scimserver/ scimserver/

# Static, reproducible binary: no cgo, no local paths, no VCS stamp or build id.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} GOFLAGS=-mod=readonly \
    go build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" -o /out/scim-operator .

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="scim-operator" \
      org.opencontainers.image.description="Kubernetes operator with an embedded SCIM 2.0 server" \
      org.opencontainers.image.source="https://github.com/scim-operator/scim-operator"
WORKDIR /
COPY --from=builder /out/scim-operator /scim-operator
USER 65532:65532
# SCIM (plain HTTP; terminate TLS at the Ingress), metrics, probes.
EXPOSE 8443 8080 8081
ENTRYPOINT ["/scim-operator"]
