{{/*
The schema migrations of one service: a Helm hook Job (pre-install, pre-upgrade) that
runs "<binary> migrate" as the database owner role and exits. Helm waits for it before
it creates or updates the release's other objects, so the new pods find the schema
current; a failed migration fails the install or upgrade and leaves the running
version alone.

Pre-install hooks run before the release's own objects exist, the service's
ServiceAccount included, and a pod cannot be created with a ServiceAccount that does
not exist. So when the chart creates the service's ServiceAccount
(serviceAccount.create), the Job runs under a twin "<name>-migrate" ServiceAccount
(same annotations), itself a hook created just before the Job and deleted with it;
otherwise it runs under the same existing ServiceAccount as the Deployment.

The Job needs neither the trust document nor the service key: migrate reads only
DATABASE_URL (the owner's URL), APP_DB_ROLE, LOG_LEVEL and OTEL_*.
*/}}

{{- define "counterdesk-service.migrateServiceAccountName" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- if $v.serviceAccount.create -}}
{{- printf "%s-migrate" (include "counterdesk-service.serviceAccountName" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "counterdesk-service.serviceAccountName" . -}}
{{- end -}}
{{- end }}

{{/* The hook ServiceAccount of the migrate Job (see above). */}}
{{- define "counterdesk-service.migrateserviceaccount" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- if and $v.migrations.job.enabled $v.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "counterdesk-service.migrateServiceAccountName" . }}
  labels:
    {{- include "counterdesk-service.migrateLabels" . | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    # Before the Job.
    helm.sh/hook-weight: "-20"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    {{- with $v.serviceAccount.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end }}

{{/* The migrate Job (when migrations.job.enabled). */}}
{{- define "counterdesk-service.migratejob" -}}
{{- $v := include "counterdesk-service.values" . | fromYaml -}}
{{- $job := $v.migrations.job -}}
{{- if $job.enabled -}}
{{- $name := include "counterdesk-service.name" . -}}
{{- $g := $v.global -}}
{{- $owner := dict "name" ($v.database.ownerSecretName | default (printf "%s-db-owner" $name)) "key" $v.database.ownerKey -}}
{{- $owner = include "counterdesk-service.secretRef" (list $owner $g "DATABASE_URL (database.ownerSecretName)") | fromYaml -}}
{{- $app := dict "name" ($v.database.secretName | default (printf "%s-db-app" $name)) "key" $v.database.key -}}
{{- if and (eq $owner.name $app.name) (eq $owner.key $app.key) -}}
{{- fail (printf "%s: database.ownerSecretName/ownerKey and database.secretName/key name the same Secret key (%s/%s): the service must not connect as the database owner" $name $owner.name $owner.key) -}}
{{- end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-migrate" $name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "counterdesk-service.migrateLabels" . | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    # Kept when it fails (its pods' logs say why), replaced by the next attempt.
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    # helm prints the failed migration's logs.
    helm.sh/hook-output-log-policy: hook-failed
spec:
  backoffLimit: {{ $job.backoffLimit }}
  activeDeadlineSeconds: {{ $job.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "counterdesk-service.migrateLabels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "counterdesk-service.migrateServiceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with $g.image.pullSecrets }}
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
      containers:
        - name: migrate
          image: {{ include "counterdesk-service.image" . | quote }}
          imagePullPolicy: {{ $g.image.pullPolicy }}
          command: [{{ printf "/usr/local/bin/%s" .Chart.Name | quote }}]
          args: ["migrate"]
          env:
            - name: APP_DB_ROLE
              value: {{ $v.database.appRole | default (printf "%s_app" ($name | replace "-" "_")) | quote }}
            # The owner role: the only place its URL is used.
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: {{ $owner.name | quote }}
                  key: {{ $owner.key | quote }}
            - name: LOG_LEVEL
              value: {{ $v.logLevel | default $g.logLevel | quote }}
            {{- with $g.otel.endpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            - name: OTEL_SERVICE_NAME
              value: {{ $name | quote }}
          resources:
            {{- toYaml $job.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- /* Node affinity only: the service's pod (anti-)affinity is about its own pods. */}}
      {{- with ($v.affinity | default dict).nodeAffinity }}
      affinity:
        nodeAffinity:
          {{- toYaml . | nindent 10 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}
