{{/* The service's ServiceAccount (when serviceAccount.create). */}}
{{- define "counterdesk-service.serviceaccount" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- if $v.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "counterdesk-service.serviceAccountName" . }}
  labels:
    {{- include "counterdesk-service.labels" . | nindent 4 }}
  {{- with $v.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end }}
