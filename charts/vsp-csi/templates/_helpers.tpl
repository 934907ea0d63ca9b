{{/*
Names, labels, images and the cross-field checks that values.schema.json cannot express.
Everything here is deterministic: no random values, no lookups, no dates (GitOps renders the same
values to the same bytes).
*/}}

{{- define "vsp-csi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>" when the release name contains the chart name, else "<release>-<chart>". */}}
{{- define "vsp-csi.fullname" -}}
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

{{- define "vsp-csi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vsp-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vsp-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vsp-csi.labels" -}}
{{ include "vsp-csi.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vsp-csi
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "vsp-csi.chart" . }}
{{- end }}

{{/* Labels of one component: call with (dict "root" $ "component" "controller"). */}}
{{- define "vsp-csi.componentLabels" -}}
{{ include "vsp-csi.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "vsp-csi.componentSelector" -}}
{{ include "vsp-csi.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "vsp-csi.controllerServiceAccount" -}}
{{- default (printf "%s-controller" (include "vsp-csi.fullname" .)) .Values.controller.serviceAccount.name }}
{{- end }}

{{- define "vsp-csi.nodeServiceAccount" -}}
{{- default (printf "%s-node" (include "vsp-csi.fullname" .)) .Values.node.serviceAccount.name }}
{{- end }}

{{/* repository:tag, or repository@digest; call with (dict "image" .Values.x.image "default" "<tag>"). */}}
{{- define "vsp-csi.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .default .image.tag) }}
{{- end }}
{{- end }}

{{- define "vsp-csi.driverImage" -}}
{{- include "vsp-csi.image" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/* Where the driver finds its configuration, the array credentials and CA bundles. */}}
{{- define "vsp-csi.configDir" -}}/etc/vsp-csi/config{{- end }}
{{- define "vsp-csi.arrayDir" -}}/etc/vsp-csi/arrays{{- end }}

{{/* The CSI socket inside the pods; the driver's default endpoint. */}}
{{- define "vsp-csi.socketDir" -}}/csi{{- end }}

{{/*
The node plugin's socket directory on the host. kubelet finds the plugin through the registration
socket that node-driver-registrar writes, which names this path.
*/}}
{{- define "vsp-csi.pluginDir" -}}
{{- printf "%s/plugins/%s" (trimSuffix "/" .Values.node.kubeletDir) .Values.driverName }}
{{- end }}

{{/* Where the node plugin sees the host's root file system. */}}
{{- define "vsp-csi.hostRoot" -}}/host{{- end }}

{{/* Snapshot APIs: served by the cluster (CRDs installed), or forced. */}}
{{- define "vsp-csi.snapshotApi" -}}
{{- if or .Values.sidecars.snapshotter.forceEnable (.Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1") }}true{{- end }}
{{- end }}

{{- define "vsp-csi.snapshotterEnabled" -}}
{{- if and .Values.sidecars.snapshotter.enabled (include "vsp-csi.snapshotApi" .) }}true{{- end }}
{{- end }}

{{- define "vsp-csi.groupSnapshotApi" -}}
{{- if or .Values.sidecars.snapshotter.forceEnable (.Capabilities.APIVersions.Has "groupsnapshot.storage.k8s.io/v1") }}true{{- end }}
{{- end }}

{{/*
The leader-election flags every controller sidecar gets, with the lease in the release namespace.
*/}}
{{- define "vsp-csi.leaderElectionArgs" -}}
{{- $le := .Values.controller.leaderElection }}
{{- if $le.enabled }}
- --leader-election=true
- --leader-election-namespace={{ .Release.Namespace }}
- --leader-election-lease-duration={{ $le.leaseDuration }}
- --leader-election-renew-deadline={{ $le.renewDeadline }}
- --leader-election-retry-period={{ $le.retryPeriod }}
{{- else }}
- --leader-election=false
{{- end }}
{{- end }}

{{/*
Liveness of a controller sidecar through its --http-endpoint: /healthz/leader-election fails when
the sidecar lost its lease but kept running (values from csi-driver-host-path's deployment).
*/}}
{{- define "vsp-csi.sidecarLiveness" -}}
livenessProbe:
  httpGet:
    path: /healthz/leader-election
    port: {{ .port }}
  failureThreshold: 1
  initialDelaySeconds: 10
  timeoutSeconds: 10
  periodSeconds: 20
{{- end }}

{{/*
Checks across values that the JSON schema cannot express. Each fails the render with a message
naming the key, so a mistake stops `helm install` rather than a driver at run time.
*/}}
{{- define "vsp-csi.validate" -}}
{{- $names := dict }}
{{- $ids := dict }}
{{- range $i, $a := .Values.arrays }}
{{- if hasKey $names $a.name }}
{{- fail (printf "arrays[%d].name: %q is used twice; array names must be unique" $i $a.name) }}
{{- end }}
{{- if hasKey $ids (toString $a.storageDeviceId) }}
{{- fail (printf "arrays[%d].storageDeviceId: %s is used twice; volume IDs would be ambiguous" $i (toString $a.storageDeviceId)) }}
{{- end }}
{{- $_ := set $names $a.name true }}
{{- $_ := set $ids (toString $a.storageDeviceId) true }}
{{- with $a.ldevRange }}
{{- if gt (int .start) (int .end) }}
{{- fail (printf "arrays[%d].ldevRange: start %d is above end %d" $i (int .start) (int .end)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.defaultArray (not (hasKey $names .Values.defaultArray)) }}
{{- fail (printf "defaultArray: %q names no entry of arrays (%s)" .Values.defaultArray (keys $names | sortAlpha | join ", ")) }}
{{- end }}
{{- range $i, $sc := .Values.storageClasses }}
{{- $array := dig "parameters" "array" "" $sc }}
{{- if and $array (not (hasKey $names $array)) }}
{{- fail (printf "storageClasses[%d] (%s): parameters.array %q names no entry of arrays (%s)" $i $sc.name $array (keys $names | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- include "vsp-csi.validateClasses" (dict "list" .Values.storageClasses "key" "storageClasses") }}
{{- include "vsp-csi.validateClasses" (dict "list" .Values.volumeSnapshotClasses "key" "volumeSnapshotClasses") }}
{{- include "vsp-csi.validateClasses" (dict "list" .Values.volumeGroupSnapshotClasses "key" "volumeGroupSnapshotClasses") }}
{{- include "vsp-csi.validateClasses" (dict "list" .Values.volumeAttributesClasses "key" "volumeAttributesClasses") }}
{{- $le := .Values.controller.leaderElection }}
{{- if and (not $le.enabled) (gt (int .Values.controller.replicas) 1) }}
{{- fail "controller.leaderElection.enabled: false needs controller.replicas: 1 (two active sidecars would race)" }}
{{- end }}
{{- end }}

{{/* Class names unique, at most one default. */}}
{{- define "vsp-csi.validateClasses" -}}
{{- $seen := dict }}
{{- $defaults := list }}
{{- range $i, $c := .list }}
{{- if hasKey $seen $c.name }}
{{- fail (printf "%s[%d].name: %q is used twice" $.key $i $c.name) }}
{{- end }}
{{- $_ := set $seen $c.name true }}
{{- if $c.default }}{{ $defaults = append $defaults $c.name }}{{ end }}
{{- end }}
{{- if gt (len $defaults) 1 }}
{{- fail (printf "%s: only one may be the default, not %s" .key (join ", " $defaults)) }}
{{- end }}
{{- end }}

{{/*
Class parameters as the API wants them: every value a string. Numbers are printed as integers
(values files parse numbers as float64, which would print 2147483647 as 2.147483647e+09).
*/}}
{{- define "vsp-csi.parameters" -}}
{{- range $k, $v := . }}
{{ $k }}: {{ if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) }}{{ int64 $v | toString | quote }}{{ else }}{{ toString $v | quote }}{{ end }}
{{- end }}
{{- end }}

{{/* labels + user labels, annotations + default-class annotation; call with (dict "root" $ "class" . "defaultKey" "...") */}}
{{- define "vsp-csi.classMetadata" -}}
name: {{ .class.name }}
labels:
  {{- include "vsp-csi.labels" .root | nindent 2 }}
  {{- with .class.labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if or .class.default .class.annotations }}
annotations:
  {{- with .class.annotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- if .class.default }}
  {{ .defaultKey }}: "true"
  {{- end }}
{{- end }}
{{- end }}
