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

# Two database roles per service (least privilege), both existing before the install:
#   <name>_owner  owns the database and its schema; only the migrate Job uses it;
#   <name>_app    LOGIN, not the owner, no DDL: the service's DATABASE_URL. The migrate
#                 Job grants it the DML each table needs.
# Create them with CloudNativePG (deploy/infra/postgres.yaml: bootstrap.initdb.owner and
# managed.roles) or have a DBA create them; each Secret holds the role's connection URL.
database:
  # DATABASE_URL of the service (the app role). Empty secretName: "<name>-db-app".
  secretName: ""
  key: uri
  # DATABASE_URL of the migrate Job (the owner role); never given to the Deployment.
  # Empty ownerSecretName: "<name>-db-owner".
  ownerSecretName: ""
  ownerKey: uri
  # APP_DB_ROLE of the migrate Job: the role it grants the DML to. Empty: "<name>_app"
  # (with "-" in the name replaced by "_").
  appRole: ""

# The service's own private key (a JWK whose kid is the service name), from an existing
# Secret, mounted read-only at /etc/counterdesk/service-key/key.jwk (SERVICE_KEY_FILE)
# in this service's pods only. The service reads it at start: after replacing the
# Secret, restart the Deployment. Empty secretName: "<name>-service-key".
serviceKey:
  secretName: ""
  key: key.jwk

# Schema migrations: a Helm hook Job (pre-install, pre-upgrade) runs "<binary> migrate"
# as the owner role (database.ownerSecretName) and exits; the service itself never runs
# DDL and waits at start until the schema is current. With enabled: false, run the
# migrations some other way before each install or upgrade.
migrations:
  job:
    enabled: true
    # Retries of a failed migration (a pod each), then the hook, and the install or
    # upgrade, fails.
    backoffLimit: 2
    # Upper bound of the whole Job, retries included. helm waits for the hook: keep
    # this below helm's --timeout (5m by default), so that a slow migration fails as
    # the Job's own DeadlineExceeded rather than as a helm time-out with the Job still
    # running; raise both together for long migrations.
    activeDeadlineSeconds: 240
    resources:
      requests:
        cpu: 50m
        memory: 64Mi
      limits:
        memory: 128Mi

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
  # /healthz during start-up (the service waits then until the schema is current):
  # up to periodSeconds x failureThreshold.
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
auth:
  # ConfigMap with the trust document (public material only), mounted read-only in
  # every service at /etc/counterdesk/trust/trust.json (AUTH_TRUST_FILE).
  trustConfigMap: counterdesk-auth-trust
  # Its key holding the JSON.
  trustKey: trust.json
  # The umbrella chart creates the ConfigMap from this object when it is set.
  trust: null
# Existing Secrets, by the names the charts use (see secretEnv).
secrets:
  auditMacKeys:
    name: counterdesk-audit
    key: mac-keys
  piiEncryptionKey:
    name: counterdesk-pii
    key: encryption-key
  redisUrl:
    name: counterdesk-redis
    key: url
{{- end }}
