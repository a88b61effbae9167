{{/*
Helpers of the counterdesk-service library chart. All templates are called with the
context of the service chart that includes them (its .Values, .Chart and .Release).
*/}}

{{/* Object name: nameOverride, else the service chart's name (intake, routing...). */}}
{{- define "counterdesk-service.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "counterdesk-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "counterdesk-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "counterdesk-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "counterdesk-service.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: service
app.kubernetes.io/part-of: counterdesk
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
merge: (list dst src) copies src into dst key by key, recursing into maps present on
both sides. Unlike sprig's mergeOverwrite, false, 0 and "" from src win.
*/}}
{{- define "counterdesk-service.merge" -}}
{{- $dst := index . 0 -}}
{{- $src := index . 1 -}}
{{- range $k, $v := $src -}}
{{- if and (kindIs "map" $v) (kindIs "map" (index $dst $k)) -}}
{{- include "counterdesk-service.merge" (list (index $dst $k) $v) -}}
{{- else if not (kindIs "invalid" $v) -}}
{{- $_ := set $dst $k $v -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
values: the service's settings (defaults from _defaults.tpl, then the chart's values),
with the effective globals under "global", as YAML. Use with fromYaml.
*/}}
{{- define "counterdesk-service.values" -}}
{{- $v := include "counterdesk-service.defaults" . | fromYaml -}}
{{- include "counterdesk-service.merge" (list $v (omit .Values "global")) -}}
{{- $g := include "counterdesk-service.globalDefaults" . | fromYaml -}}
{{- include "counterdesk-service.merge" (list $g (.Values.global | default dict)) -}}
{{- $_ := set $v "global" $g -}}
{{- toYaml $v -}}
{{- end }}

{{- define "counterdesk-service.serviceAccountName" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- if $v.serviceAccount.create -}}
{{- $v.serviceAccount.name | default (include "counterdesk-service.name" .) -}}
{{- else -}}
{{- $v.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end }}

{{/* image: registry/name:tag, or registry/name@digest. */}}
{{- define "counterdesk-service.image" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $repo := $v.image.repository | default (printf "%s/%s" (trimSuffix "/" $v.global.image.registry) .Chart.Name) -}}
{{- if $v.image.digest -}}
{{- printf "%s@%s" $repo $v.image.digest -}}
{{- else -}}
{{- $tag := $v.image.tag | default $v.global.image.tag | default .Chart.AppVersion | required "image tag: set global.image.tag, image.tag or the chart's appVersion" -}}
{{- printf "%s:%s" $repo (toString $tag) -}}
{{- end -}}
{{- end }}

{{/*
secretRef: (list <ref> <globals> <env name>) resolves a secretEnv entry to
{name, key}: a string names an entry of global.secrets, a map is used as is.
*/}}
{{- define "counterdesk-service.secretRef" -}}
{{- $ref := index . 0 -}}
{{- $g := index . 1 -}}
{{- $env := index . 2 -}}
{{- if kindIs "string" $ref -}}
{{- $ref = index ($g.secrets | default dict) $ref | required (printf "secretEnv.%s: global.secrets has no entry %q" $env $ref) -}}
{{- end -}}
{{- if not (kindIs "map" $ref) -}}
{{- fail (printf "secretEnv.%s: want the name of a global.secrets entry or {name, key}" $env) -}}
{{- end -}}
name: {{ $ref.name | required (printf "secretEnv.%s: the Secret name is missing" $env) | quote }}
key: {{ $ref.key | required (printf "secretEnv.%s: the Secret key is missing" $env) | quote }}
{{- end }}

{{/*
env: the container's environment, sorted by name. The variables every service reads
come first in the map; env and secretEnv add to them or replace them.
*/}}
{{- define "counterdesk-service.env" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $g := $v.global -}}
{{- include "counterdesk-service.checkRemoved" $v -}}
{{- $name := include "counterdesk-service.name" . -}}
{{- $brokers := $g.kafka.brokers -}}
{{- if kindIs "slice" $brokers }}{{ $brokers = join "," $brokers }}{{ end -}}
{{- $env := dict -}}
{{- $_ := set $env "GRPC_ADDR" (dict "value" (printf ":%v" $v.ports.grpc)) -}}
{{- $_ := set $env "HTTP_ADDR" (dict "value" (printf ":%v" $v.ports.http)) -}}
{{- $_ := set $env "KAFKA_BROKERS" (dict "value" ($brokers | required "global.kafka.brokers is required")) -}}
{{- $_ := set $env "LOG_LEVEL" (dict "value" ($v.logLevel | default $g.logLevel)) -}}
{{- $_ := set $env "OTEL_SERVICE_NAME" (dict "value" $name) -}}
{{- with $g.otel.endpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" (dict "value" .) -}}
{{- end -}}
{{- $db := dict "name" ($v.database.secretName | default (printf "%s-db-app" $name)) "key" $v.database.key -}}
{{- $_ := set $env "DATABASE_URL" (dict "secret" (include "counterdesk-service.secretRef" (list $db $g "DATABASE_URL") | fromYaml)) -}}
{{- $_ := set $env "AUTH_TRUST_FILE" (dict "value" (printf "%s/trust.json" (include "counterdesk-service.trustDir" .))) -}}
{{- $_ := set $env "SERVICE_KEY_FILE" (dict "value" (printf "%s/key.jwk" (include "counterdesk-service.serviceKeyDir" .))) -}}
{{- range $k, $val := $v.env -}}
{{- $_ := set $env $k (dict "value" (toString $val)) -}}
{{- end -}}
{{- range $k, $ref := $v.secretEnv -}}
{{- $_ := set $env $k (dict "secret" (include "counterdesk-service.secretRef" (list $ref $g $k) | fromYaml)) -}}
{{- end -}}
{{- range $k, $e := $env }}
- name: {{ $k }}
{{- if hasKey $e "secret" }}
  valueFrom:
    secretKeyRef:
      name: {{ $e.secret.name | quote }}
      key: {{ $e.secret.key | quote }}
{{- else }}
  value: {{ $e.value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
checkRemoved: (the values) fails on settings that no longer exist, rather than let
them be ignored.
*/}}
{{- define "counterdesk-service.checkRemoved" -}}
{{- if hasKey (.global.secrets | default dict) "authSigningKey" -}}
{{- fail "global.secrets.authSigningKey is no longer used: there is no shared signing key. The services verify tokens with the trust document (global.auth.trustConfigMap) and sign their own calls with their own key (<service>.serviceKey); remove the entry" -}}
{{- end -}}
{{- end }}

{{/* Mount points of the trust document and of the service's own key (directories). */}}
{{- define "counterdesk-service.trustDir" -}}/etc/counterdesk/trust{{- end }}
{{- define "counterdesk-service.serviceKeyDir" -}}/etc/counterdesk/service-key{{- end }}

{{/* serviceKeySecret: name of the Secret with the service's own private key. */}}
{{- define "counterdesk-service.serviceKeySecret" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $v.serviceKey.secretName | default (printf "%s-service-key" (include "counterdesk-service.name" .)) -}}
{{- end }}

{{/*
authVolumes / authVolumeMounts: the trust ConfigMap and the service's own key Secret,
each projected as one file into its own directory. No subPath: the kubelet then updates
the files when the ConfigMap or Secret changes; the services re-read the trust document
when it changes (a bank's or the operators' keys rotate without a restart).
*/}}
{{- define "counterdesk-service.authVolumes" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
- name: auth-trust
  configMap:
    name: {{ $v.global.auth.trustConfigMap | required "global.auth.trustConfigMap is required" | quote }}
    items:
      - key: {{ $v.global.auth.trustKey | required "global.auth.trustKey is required" | quote }}
        path: trust.json
- name: service-key
  secret:
    secretName: {{ include "counterdesk-service.serviceKeySecret" . | quote }}
    items:
      - key: {{ $v.serviceKey.key | required "serviceKey.key is required" | quote }}
        path: key.jwk
    # 0440: readable by the pod's group (fsGroup) only.
    defaultMode: 288
{{- end }}

{{- define "counterdesk-service.authVolumeMounts" -}}
- name: auth-trust
  mountPath: {{ include "counterdesk-service.trustDir" . }}
  readOnly: true
- name: service-key
  mountPath: {{ include "counterdesk-service.serviceKeyDir" . }}
  readOnly: true
{{- end }}

{{/* Labels of the migrate Job and its pod: not the service's selector labels, so that
neither its Service nor its PodDisruptionBudget selects the migration's pod. */}}
{{- define "counterdesk-service.migrateSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-migrate" (include "counterdesk-service.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "counterdesk-service.migrateLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "counterdesk-service.migrateSelectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: migration
app.kubernetes.io/part-of: counterdesk
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
