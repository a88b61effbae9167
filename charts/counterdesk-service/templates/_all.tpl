{{/*
counterdesk-service.all: every object of one service. A service chart's only template:

  {{ include "counterdesk-service.all" . }}
*/}}
{{- define "counterdesk-service.all" -}}
{{- range $t := list "serviceaccount" "service" "deployment" "pdb" "hpa" "migrateserviceaccount" "migratejob" }}
{{- $doc := include (printf "counterdesk-service.%s" $t) $ | trim }}
{{- if $doc }}
---
{{ $doc }}
{{- end }}
{{- end }}
{{- end }}
