{{/* The service's Service: gRPC and HTTP, addressed as <name>:<port>. */}}
{{- define "counterdesk-service.service" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "counterdesk-service.name" . }}
  labels:
    {{- include "counterdesk-service.labels" . | nindent 4 }}
  {{- with $v.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $v.service.type }}
  selector:
    {{- include "counterdesk-service.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $v.ports.grpc }}
      targetPort: grpc
      protocol: TCP
      # gRPC is HTTP/2 without TLS inside the cluster.
      appProtocol: kubernetes.io/h2c
    - name: http
      port: {{ $v.ports.http }}
      targetPort: http
      protocol: TCP
      appProtocol: http
{{- end }}
