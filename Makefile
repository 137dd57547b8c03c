# scim-operator Makefile — the kubebuilder contract plus the local mode.
# Tools are pinned and installed into ./bin; nothing is downloaded at run time
# except Go modules from the module proxy.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_TOOLS_VERSION ?= v0.23.0
STATICCHECK_VERSION ?= v0.8.2
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
STATICCHECK ?= $(LOCALBIN)/staticcheck-$(STATICCHECK_VERSION)
HELM_VERSION ?= v3.22.0
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
ACTIONLINT_VERSION ?= v1.7.12
ACTIONLINT ?= $(LOCALBIN)/actionlint-$(ACTIONLINT_VERSION)

# The control plane the tests and the local mode run against (see hack/controlplane.sh).
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16
KUBEBUILDER_ASSETS ?= $(LOCALBIN)/k8s/$(K8S_VERSION)-$(ETCD_VERSION)
export KUBEBUILDER_ASSETS

GO_TEST_FLAGS ?= -count=1 -timeout=40m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
# Two roles, one per component (--components): the SCIM server's from the
# markers of ./scimserver, the reconcilers' from ./controllers and
# ./internal/operator. A +kubebuilder:rbac marker elsewhere is not generated.
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC into config/.
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false paths="./api/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=scim-operator-scim paths="./scimserver/..." output:rbac:artifacts:config=config/rbac/scim
	$(CONTROLLER_GEN) rbac:roleName=scim-operator-controllers paths="./controllers/...;./internal/operator/..." output:rbac:artifacts:config=config/rbac/controllers

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt on the tree.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(STATICCHECK) vet lint-workflows ## Run go vet, staticcheck and actionlint; fail on unformatted files.
	@unformatted=$$(gofmt -s -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(STATICCHECK) ./...

.PHONY: lint-workflows
lint-workflows: $(ACTIONLINT) ## Check .github/workflows with actionlint (its run: scripts with shellcheck when installed).
	$(ACTIONLINT) .github/workflows/*.yml

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated code or manifests are stale.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "generated files are out of date; run 'make manifests generate' and commit:"; \
		git status --porcelain -- api config; git --no-pager diff -- api config | head -50; exit 1; fi

.PHONY: controlplane
controlplane: ## Build kube-apiserver, etcd and kubectl from the Go module proxy into bin/k8s (cached).
	hack/controlplane.sh >/dev/null

.PHONY: test
test: verify-generated lint controlplane $(HELM) ## Run every test against the real API server and PostgreSQL.
	go test $(GO_TEST_FLAGS) ./...

FUZZ_TIME ?= 30s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZ_TIME (default 30s).
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZ_TIME) ./scimserver/filter
	go test -run='^$$' -fuzz='^FuzzApply$$' -fuzztime=$(FUZZ_TIME) ./scimserver/patch
	go test -run='^$$' -fuzz='^FuzzFold$$' -fuzztime=$(FUZZ_TIME) ./scimserver/filter
	go test -run='^$$' -fuzz='^FuzzTypedFilter$$' -fuzztime=$(FUZZ_TIME) ./scimserver

.PHONY: test-scale
test-scale: controlplane ## Run the slow scale tests (100,000-member group), one package at a time.
	SCIM_SCALE=1 go test -p=1 -count=1 -timeout=60m -run='Scale' -v ./test/rbac ./test/scale 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

.PHONY: dev
dev: controlplane ## Run the operator locally on an embedded control plane and PostgreSQL (foreground).
	go build -o $(LOCALBIN)/scim-operator-dev ./hack/dev
	exec $(LOCALBIN)/scim-operator-dev --assets "$(KUBEBUILDER_ASSETS)" --state .dev

BENCH_FLAGS ?=

.PHONY: bench
bench: controlplane | $(LOCALBIN) ## Measure the whole product at scale (bench/README.md); report in bench/out/.
	go build -o $(LOCALBIN)/scimbench ./bench/cmd/scimbench
	$(LOCALBIN)/scimbench -out bench/out $(BENCH_FLAGS)

.PHONY: bench-go
bench-go: controlplane ## Run each package's focused Go benchmarks once.
	go test -run='^$$' -bench=. -benchtime=1x -timeout=30m ./...

.PHONY: test-faults
test-faults: controlplane ## Run the fault suite: hostile input, API server outage, token rotation, a 45 s soak.
	go test -count=1 -timeout=15m -v ./test/faults 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

.PHONY: soak
soak: controlplane ## Run the 10-minute soak of mixed Okta/Entra ID traffic (nightly).
	SCIM_SOAK_DURATION=10m go test -count=1 -timeout=20m -run='^TestSoak$$' -v ./test/faults

.PHONY: build
build: plugin ## Build the operator binary and the kubectl plugin.
	go build -o $(LOCALBIN)/scim-operator .

.PHONY: plugin
plugin: ## Build the kubectl plugin into bin/kubectl-scim; put bin/ on PATH for `kubectl scim` (docs/kubectl.md).
	go build -o $(LOCALBIN)/kubectl-scim ./cmd/kubectl-scim

IMG ?= ghcr.io/scim-operator/scim-operator:dev

.PHONY: docker-build
docker-build: ## Build the operator image (IMG=...).
	docker build -t $(IMG) .

##@ Release

# VERSION defaults, in hack/release.sh, to the latest v* tag `git describe`
# finds, else the chart's version. BASES=published builds on golang:1.26 and
# distroless instead of bases assembled from this machine (docs/releasing.md).
VERSION ?=
DIST ?= dist
BASES ?= local

.PHONY: release
release: $(HELM) ## Build the chart, the linux/amd64+arm64 image archive, the SBOM and SHA256SUMS of VERSION into dist/.
	VERSION=$(VERSION) DIST=$(DIST) BASES=$(BASES) HELM=$(HELM) hack/release.sh

.PHONY: test-release
test-release: $(HELM) ## Run `make release` into a temporary folder and check every artifact (test/release).
	SCIM_RELEASE_TEST=1 go test -count=1 -timeout=30m -v ./test/release 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

##@ Helm chart

CHART_DIR ?= charts/scim-operator

.PHONY: chart-manifests
chart-manifests: manifests ## Copy the generated CRDs and RBAC from config/ into the chart.
	hack/sync-chart.sh $(CHART_DIR)

.PHONY: helm-lint
helm-lint: $(HELM) ## Lint the chart (strict), with default values and with every feature on.
	$(HELM) lint --strict $(CHART_DIR)
	$(HELM) lint --strict $(CHART_DIR) -f test/chart/testdata/all-features.yaml

.PHONY: helm
helm: $(HELM) ## Build Helm from the Go module proxy into bin/.

##@ Tools

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

$(CONTROLLER_GEN): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

$(ACTIONLINT): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $(LOCALBIN)/actionlint $(ACTIONLINT)

$(STATICCHECK): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(LOCALBIN)/staticcheck $(STATICCHECK)

# The -X flags are those of Helm's own release build: without them `helm version`
# says v3.22 and Helm assumes Kubernetes 1.20 for .Capabilities.KubeVersion
# (`helm template`, kubeVersion checks) and for lint's deprecation rules.
# Helm v3.22.0 is built with the Kubernetes 1.37 libraries (k8s.io/client-go v0.37).
HELM_K8S_MINOR ?= 37
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,pkg/chartutil pkg/lint/rules,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=$(HELM_K8S_MINOR))

$(HELM): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm $(HELM)
