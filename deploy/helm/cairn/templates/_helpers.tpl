{{/* Names: "<release>-cairn", or the release name when it already contains "cairn". */}}
{{- define "cairn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cairn.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "cairn.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The CairnCluster's name: its pods are <name>-0.., its client Service <name>. */}}
{{- define "cairn.serverName" -}}
{{- printf "%s-server" (include "cairn.fullname" .) -}}
{{- end -}}

{{- define "cairn.operatorName" -}}
{{- printf "%s-operator" (include "cairn.fullname" .) -}}
{{- end -}}

{{- define "cairn.webhookName" -}}
{{- printf "%s-webhook" (include "cairn.fullname" .) -}}
{{- end -}}

{{- define "cairn.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Labels on every object the chart renders. */}}
{{- define "cairn.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "cairn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cairn.operatorSelector" -}}
app.kubernetes.io/name: {{ include "cairn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The labels cairn-operator puts on a CairnCluster's server pods (operator/desired_objects.cc). */}}
{{- define "cairn.serverSelector" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/instance: {{ include "cairn.serverName" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Values the schema cannot judge alone: a clear message instead of a broken install. */}}
{{- define "cairn.validate" -}}
{{- if .Values.tls.enabled -}}
{{- fail "tls.enabled: TLS is not yet implemented by this chart; leave it false (docs/kubernetes.md)" -}}
{{- end -}}
{{- if .Values.acls.manageSystemACLs -}}
{{- fail "acls.manageSystemACLs: managed ACLs are not yet implemented by this chart; leave it false (docs/kubernetes.md)" -}}
{{- end -}}
{{- if and .Values.injection.enabled (eq .Values.injection.failurePolicy "Fail") (empty .Values.injection.namespaceSelector) -}}
{{- fail "injection.failurePolicy: Fail needs injection.namespaceSelector: with an empty selector every pod creation in the cluster would depend on the webhook" -}}
{{- end -}}
{{- if and .Values.injection.enabled (eq (int .Values.injection.port) 9600) -}}
{{- fail "injection.port: 9600 is the operator's metrics and probe port; choose another" -}}
{{- end -}}
{{- if and (not .Values.operator.leaderElection) (gt (int .Values.operator.replicas) 1) -}}
{{- fail "operator.leaderElection: false with operator.replicas > 1 would let several operators change the same cluster at once; use one replica or leave leader election on" -}}
{{- end -}}
{{- if and .Values.ui.ingress.enabled (not .Values.ui.enabled) -}}
{{- fail "ui.ingress.enabled needs ui.enabled: the Ingress routes to the UI Service" -}}
{{- end -}}
{{- end -}}
