
{{/*
The driver's configuration files (src/config/schema.ts), one per mode. Credentials never appear
here: each array's Secret is mounted as a directory and the file names its path
(credentials.secretDir). The node plugin's file has no arrays: it never calls the REST API, so it
needs neither the Secrets nor the CA bundles (and does not restart when they change).
*/}}
{{- define "vsp-csi.controllerConfig" -}}
{{- $arrayDir := include "vsp-csi.arrayDir" . }}
{{- $arrays := list }}
{{- range $a := .Values.arrays }}
{{- $entry := dict
  "name" $a.name
  "url" $a.url
  "storageDeviceId" (toString $a.storageDeviceId)
  "credentials" (dict "secretDir" (printf "%s/%s/credentials" $arrayDir $a.name))
  "defaultPoolId" (int $a.defaultPoolId)
  "targetPorts" $a.targetPorts
  "transport" $a.transport
}}
{{- /* Optional keys are written only when set, so the driver's own defaults apply. */}}
{{- if hasKey $a "insecureSkipVerify" }}
{{- $_ := set $entry "insecureSkipVerify" $a.insecureSkipVerify }}
{{- end }}
{{- with $a.urlStyle }}
{{- $_ := set $entry "urlStyle" . }}
{{- end }}
{{- with $a.ldevRange }}
{{- $_ := set $entry "ldevRange" (dict "start" (int .start) "end" (int .end)) }}
{{- end }}
{{- with $a.caBundle }}
{{- $file := ternary "ca.crt" (dig "configMap" "key" "ca.crt" .) (hasKey . "pem") }}
{{- $_ := set $entry "caBundle" (printf "%s/%s/ca/%s" $arrayDir $a.name $file) }}
{{- end }}
{{- if hasKey $a "snapshotPoolId" }}
{{- $_ := set $entry "snapshotPoolId" (int $a.snapshotPoolId) }}
{{- end }}
{{- $arrays = append $arrays $entry }}
{{- end }}
{{- $controller := dict
  "driverName" .Values.driverName
  "logLevel" .Values.logLevel
  "arrays" $arrays
  "controller" (dict "operationTimeoutSeconds" (int .Values.controller.operationTimeoutSeconds))
}}
{{- with .Values.defaultArray }}
{{- $_ := set $controller "defaultArray" . }}
{{- end }}
{{- toYaml $controller }}
{{- end }}

{{- /*
The node plugin reads the host's sysfs, /dev and /etc (multipath.conf, the iSCSI initiator name)
under hostRoot, where the DaemonSet mounts the host's root; it keeps one record per staged volume
in stateDir, inside kubelet's plugin directory on the host, so restarts find them.
*/}}
{{- define "vsp-csi.nodeConfig" -}}
{{- $nodeSettings := dict
  "hostRoot" (include "vsp-csi.hostRoot" .)
  "stateDir" (printf "%s/node-state" (include "vsp-csi.pluginDir" .))
}}
{{- with .Values.node.transport }}
{{- $_ := set $nodeSettings "transport" . }}
{{- end }}
{{- if gt (int .Values.node.maxVolumesPerNode) 0 }}
{{- $_ := set $nodeSettings "maxVolumesPerNode" (int .Values.node.maxVolumesPerNode) }}
{{- end }}
{{- toYaml (dict "driverName" .Values.driverName "logLevel" .Values.logLevel "node" $nodeSettings) }}
{{- end }}
