{{/* The service's Deployment. */}}
{{- define "counterdesk-service.deployment" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $name := include "counterdesk-service.name" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "counterdesk-service.labels" . | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "counterdesk-service.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: {{ $v.rollingUpdate.maxSurge }}
      maxUnavailable: {{ $v.rollingUpdate.maxUnavailable }}
  template:
    metadata:
      labels:
        {{- include "counterdesk-service.labels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or $v.metrics.scrape $v.podAnnotations }}
      annotations:
        {{- if $v.metrics.scrape }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.ports.http | quote }}
        prometheus.io/path: {{ $v.metrics.path | quote }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "counterdesk-service.serviceAccountName" . }}
      # The services do not call the Kubernetes API.
      automountServiceAccountToken: false
      # No <SERVICE>_PORT variables for every Service of the namespace.
      enableServiceLinks: false
      {{- with $v.global.image.pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . | quote }}
        {{- end }}
      {{- end }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "counterdesk-service.image" . | quote }}
          imagePullPolicy: {{ $v.global.image.pullPolicy }}
          command: [{{ printf "/usr/local/bin/%s" .Chart.Name | quote }}]
          ports:
            - name: grpc
              containerPort: {{ $v.ports.grpc }}
              protocol: TCP
            - name: http
              containerPort: {{ $v.ports.http }}
              protocol: TCP
          env:
            {{- include "counterdesk-service.env" . | trim | nindent 12 }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $v.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $v.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            {{- toYaml $v.probes.readiness | nindent 12 }}
          {{- if $v.preStopSleepSeconds }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $v.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "counterdesk-service.authVolumeMounts" . | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
        {{- include "counterdesk-service.authVolumes" . | nindent 8 }}
      {{- if or $v.topologySpreadConstraints $v.spreadAcrossNodes }}
      topologySpreadConstraints:
        {{- with $v.topologySpreadConstraints }}
        {{- toYaml . | nindent 8 }}
        {{- else }}
        {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
        - maxSkew: 1
          topologyKey: {{ . }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "counterdesk-service.selectorLabels" $ | nindent 14 }}
        {{- end }}
        {{- end }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
