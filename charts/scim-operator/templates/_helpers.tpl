{{/* Chart name, truncated to fit DNS labels. */}}
{{- define "scim-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or <release> when it already contains the chart name. */}}
{{- define "scim-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value. */}}
{{- define "scim-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels. app.kubernetes.io/managed-by is Helm here; the operator marks the
RoleBindings it owns with app.kubernetes.io/managed-by=scim-operator, so the
chart's own objects never match the operator's cache selector.
*/}}
{{- define "scim-operator.labels" -}}
helm.sh/chart: {{ include "scim-operator.chart" . }}
{{ include "scim-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scim-operator
{{- end }}

{{/* Selector labels of the operator pods. */}}
{{- define "scim-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Base name of the ServiceAccounts; each component's is <base>-<component>. */}}
{{- define "scim-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scim-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "scim-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Namespace of the leader election Lease. */}}
{{- define "scim-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* Name of the metrics Service. */}}
{{- define "scim-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "scim-operator.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/* Endpoint the helm test calls, as <namespace>/<name>. */}}
{{- define "scim-operator.testEndpoint" -}}
{{- if .Values.test.endpoint }}
{{- .Values.test.endpoint }}
{{- else if .Values.endpoints }}
{{- $ep := first .Values.endpoints }}
{{- printf "%s/%s" (default .Release.Namespace $ep.namespace) $ep.name }}
{{- else }}
{{- printf "%s/helm-test" .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Fixed container ports of the manager. */}}
{{- define "scim-operator.scimPort" -}}8443{{- end }}
{{- define "scim-operator.metricsPort" -}}8080{{- end }}
{{- define "scim-operator.probePort" -}}8081{{- end }}

{{/* Selector labels of one component's pods; call with (dict "root" . "component" "scim"). */}}
{{- define "scim-operator.componentSelectorLabels" -}}
{{ include "scim-operator.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* ServiceAccount of one component (scim or controllers); call with (dict "root" . "component" "scim"). */}}
{{- define "scim-operator.componentServiceAccountName" -}}
{{- printf "%s-%s" (include "scim-operator.serviceAccountName" .root) .component }}
{{- end }}

{{/*
Usernames of the operator's two ServiceAccounts, as a JSON array: the only
identities the admission policy lets write ScimUsers, ScimGroups,
ScimMemberships and ScimClaims.
*/}}
{{- define "scim-operator.operatorUsernames" -}}
{{- $names := list }}
{{- range $component := list "scim" "controllers" }}
{{- $names = append $names (printf "system:serviceaccount:%s:%s" $.Release.Namespace (include "scim-operator.componentServiceAccountName" (dict "root" $ "component" $component))) }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/*
Namespaces whose Secrets the operator reads (endpoint tokens, TenantApp
connection strings), as a JSON array: the release namespace, the namespaces of
`endpoints`, and secretNamespaces. A Role per namespace grants them; nothing
grants Secrets cluster-wide.
*/}}
{{- define "scim-operator.secretNamespaces" -}}
{{- $ns := list .Release.Namespace }}
{{- range .Values.endpoints }}
{{- $ns = append $ns (default $.Release.Namespace .namespace) }}
{{- end }}
{{- $ns = concat $ns .Values.secretNamespaces }}
{{- toJson ($ns | uniq) }}
{{- end }}

{{/*
The RBAC projection's bind rules, from rbac.allowedRoles: bind only on the
allowed roles, by resourceNames. resourceNames: ["*"] would match only a role
named "*", so an entry ClusterRole/* or Role/* drops resourceNames from its rule.
*/}}
{{- define "scim-operator.bindRules" -}}
{{- $names := dict "clusterroles" (list) "roles" (list) }}
{{- $all := dict }}
{{- range .Values.rbac.allowedRoles }}
{{- $parts := splitList "/" . }}
{{- $resource := ternary "clusterroles" "roles" (eq (first $parts) "ClusterRole") }}
{{- if eq (last $parts) "*" }}
{{- $_ := set $all $resource true }}
{{- else }}
{{- $_ := set $names $resource (append (get $names $resource) (last $parts)) }}
{{- end }}
{{- end }}
{{- range $resource := list "clusterroles" "roles" }}
{{- if or (hasKey $all $resource) (get $names $resource) }}
- apiGroups:
  - rbac.authorization.k8s.io
  resources:
  - {{ $resource }}
  verbs:
  - bind
  {{- if not (hasKey $all $resource) }}
  resourceNames:
  {{- range (get $names $resource) | uniq | sortAlpha }}
  - {{ . | quote }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Pod and container security contexts. With openshift.enabled the fixed user and
group ids are dropped, so that OpenShift's restricted-v2 SecurityContextConstraints
assign ids from the namespace's range (a fixed id outside it is refused).
*/}}
{{- define "scim-operator.podSecurityContext" -}}
{{- if .Values.openshift.enabled }}
{{- toYaml (omit .Values.podSecurityContext "runAsUser" "runAsGroup" "fsGroup") }}
{{- else }}
{{- toYaml .Values.podSecurityContext }}
{{- end }}
{{- end }}
{{- define "scim-operator.securityContext" -}}
{{- if .Values.openshift.enabled }}
{{- toYaml (omit .Values.securityContext "runAsUser" "runAsGroup") }}
{{- else }}
{{- toYaml .Values.securityContext }}
{{- end }}
{{- end }}

{{/*
The kubernetes.io/tls Secret the scim pods serve HTTPS with (tls.enabled): the
given tls.secretName, or the one the cert-manager Certificate writes. Fails on
values that would leave the pods without a key pair.
*/}}
{{- define "scim-operator.tlsSecretName" -}}
{{- with .Values.tls }}
{{- if and .certManager.enabled (not .enabled) }}
{{- fail "tls.certManager.enabled needs tls.enabled: the Certificate is only for the SCIM server's in-pod TLS" }}
{{- end }}
{{- if .certManager.enabled }}
{{- if not .certManager.issuerRef.name }}
{{- fail "tls.certManager.issuerRef.name must name the cert-manager Issuer or ClusterIssuer that signs the SCIM server's certificate" }}
{{- end }}
{{- default (printf "%s-tls" (include "scim-operator.fullname" $ | trunc 59 | trimSuffix "-")) .secretName }}
{{- else if .enabled }}
{{- required "tls.secretName must name a kubernetes.io/tls Secret (keys tls.crt and tls.key) in the release namespace when tls.enabled is true, or set tls.certManager.enabled" .secretName }}
{{- end }}
{{- end }}
{{- end }}

{{/* Where the scim pods mount the TLS Secret. */}}
{{- define "scim-operator.tlsDir" -}}/etc/scim-operator/tls{{- end }}
