{{/*
Defaults of every setting a service chart accepts. A service chart's values.yaml
(and the umbrella chart, under the service's key) sets only what differs; the two are
merged key by key, so `false`, `0` and empty values set by the chart win too.
*/}}
{{- define "counterdesk-service.defaults" -}}
# Name of the Kubernetes objects. Other services address a service by this name
# (e.g. ROUTING_ADDR=routing:9090), so leave it alone unless you change those too.
# Empty: the chart name.
nameOverride: ""

# Pods when autoscaling is off (with autoscaling on, the HPA owns the count).
replicaCount: 2

image:
  # Empty: <global.image.registry>/<chart name>.
  repository: ""
  # Empty: global.image.tag, then the chart's appVersion.
  tag: ""
  # sha256:... pins the image by digest (the tag is then informative only).
  digest: ""

# Ports of the container and of the Service: gRPC, and HTTP (grpc-gateway JSON API,
# /healthz, /readyz, /metrics). GRPC_ADDR and HTTP_ADDR are set from them.
ports:
  grpc: 9090
  http: 8080

# Empty: global.logLevel.
logLevel: ""

# DATABASE_URL comes from this Secret key. Empty secretName: "<name>-db-app", the
# Secret CloudNativePG creates for a Cluster named "<name>-db" (key "uri").
database:
  secretName: ""
  key: uri

# Extra plain environment variables, NAME: value.
env: {}

# Extra environment variables from Secrets, NAME: ref. ref is either the name of an
# entry of global.secrets (a string), or an explicit {name: <secret>, key: <key>}.
secretEnv: {}

resources:
  requests:
    cpu: 100m
    memory: 128Mi
  limits:
    memory: 256Mi

rollingUpdate:
  maxSurge: 25%
  maxUnavailable: 0

probes:
  # /healthz: restart the container when it fails.
  liveness:
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  # /readyz: take the pod out of the Service when it fails.
  readiness:
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 3
  # /healthz during start-up (migrations run then): up to periodSeconds x failureThreshold.
  startup:
    periodSeconds: 2
    timeoutSeconds: 2
    failureThreshold: 60

# Seconds the pod keeps serving after it is told to stop, so that endpoints and the
# ingress drop it first (0: no preStop hook). Keep it below terminationGracePeriodSeconds
# minus the service's SHUTDOWN_TIMEOUT (20s by default).
preStopSleepSeconds: 5
terminationGracePeriodSeconds: 30

# Size limit of the writable /tmp (the root filesystem is read-only).
tmpSizeLimit: 64Mi

podSecurityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault

securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]

podAnnotations: {}
podLabels: {}

serviceAccount:
  create: true
  # Empty: the object name.
  name: ""
  # e.g. a cloud workload identity binding.
  annotations: {}

service:
  type: ClusterIP
  annotations: {}

# The Prometheus annotations on the pods (prometheus.io/scrape, port, path).
metrics:
  scrape: true
  path: /metrics

autoscaling:
  enabled: false
  minReplicas: 2
  maxReplicas: 6
  targetCPUUtilizationPercentage: 75
  # 0: no memory target.
  targetMemoryUtilizationPercentage: 0
  # More autoscaling/v2 metrics, e.g. an External metric for Kafka consumer lag.
  extraMetrics: []
  # autoscaling/v2 behavior (scale-down stabilisation...), as is.
  behavior: {}

podDisruptionBudget:
  enabled: true
  # A number or a percentage. maxUnavailable, when set, is used instead of minAvailable.
  minAvailable: 1
  maxUnavailable: ""

# Spread the pods over nodes (and zones when the nodes have zone labels), best effort.
spreadAcrossNodes: true
topologySpreadConstraints: []

nodeSelector: {}
tolerations: []
affinity: {}
priorityClassName: ""
{{- end }}

{{/*
Defaults of the values the umbrella chart sets under `global`.
Keep them in step with charts/counterdesk/values.yaml.
*/}}
{{- define "counterdesk-service.globalDefaults" -}}
image:
  registry: ghcr.io/counterdesk
  tag: ""
  pullPolicy: IfNotPresent
  # Names of image pull Secrets.
  pullSecrets: []
kafka:
  # The bootstrap Service of the Strimzi Kafka "counterdesk" (deploy/infra/kafka.yaml).
  brokers: counterdesk-kafka-bootstrap:9092
otel:
  # OTLP endpoint of the trace collector; empty: OTEL_EXPORTER_OTLP_ENDPOINT unset.
  endpoint: ""
logLevel: info
# Existing Secrets, by the names the charts use (see secretEnv).
secrets:
  authSigningKey:
    name: counterdesk-auth
    key: signing-key
  piiEncryptionKey:
    name: counterdesk-pii
    key: encryption-key
  redisUrl:
    name: counterdesk-redis
    key: url
{{- end }}
