{{/* The service's PodDisruptionBudget (when podDisruptionBudget.enabled). */}}
{{- define "counterdesk-service.pdb" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $pdb := $v.podDisruptionBudget -}}
{{- if $pdb.enabled -}}
{{- $min := ternary $v.autoscaling.minReplicas $v.replicaCount $v.autoscaling.enabled -}}
{{- if and (not $pdb.maxUnavailable) (kindIs "float64" $pdb.minAvailable) (ge (int $pdb.minAvailable) (int $min)) -}}
{{- fail (printf "%s: podDisruptionBudget.minAvailable (%v) must be below the replica count (%v), or no node could ever be drained; disable the PDB or add replicas" (include "counterdesk-service.name" .) $pdb.minAvailable $min) -}}
{{- end -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "counterdesk-service.name" . }}
  labels:
    {{- include "counterdesk-service.labels" . | nindent 4 }}
spec:
  {{- if $pdb.maxUnavailable }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- else }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- end }}
  # Pods that are not ready (crash-looping...) may be evicted anyway.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "counterdesk-service.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}
