// Package stack starts the whole counterdesk suite on one machine without a
// cluster: a private Postgres (one database per service), a private Redis, a
// Kafka-protocol broker (kfake), a local SMTP server, a local trace viewer,
// the five services and one HTTP gateway in front of them, as an Ingress
// would be. `make up` runs it in the background; the end-to-end tests run
// the same code on their own ports.
package stack

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

// Services in start order: routing before intake (intake asks routing
// about branches), intake before notification (which asks intake, and
// routing whom to alert).
var Services = []string{"routing", "slatimer", "intake", "notification", "reporting"}

// Config says where the stack lives and how it is reached.
type Config struct {
	// Dir holds data, logs, PID files, secrets and endpoints.env.
	Dir string
	// BinDir holds the service binaries and devstack itself.
	BinDir string
	// ValuesFile is the umbrella chart's values.yaml (Ingress routes).
	ValuesFile string
	// RepoDir is the repository, where the demo banks' org files are
	// (DemoOrgFiles); empty: found from the working directory (FindRepoDir).
	RepoDir string
	// BasePort: fixed ports from here (make up); 0 picks free ports (tests).
	BasePort int
	// FastPostgres turns off fsync and friends: tests only.
	FastPostgres bool
	Log          io.Writer
}

// Stack is a running suite.
type Stack struct {
	cfg       Config
	Postgres  *localinfra.Postgres
	Redis     *localinfra.Redis
	Ports     map[string]int
	Secrets   Secrets
	Keys      *authdev.Installation
	DBs       map[string]localinfra.ServiceDatabase
	TrustFile string
	Endpoints map[string]string
}

// Secrets are generated once per stack directory and kept, because data
// sealed with the PII key is unreadable without it, and an audit trail
// cannot be verified without its MAC key.
type Secrets struct {
	PIIKey       string
	AuditMACKeys string
}

// Banks of the dev stack: the demo bank and a second one, each with its own
// issuer and API keys, so the walls between banks can be tried.
const OtherTenant = "demo-bank-2"

func (c Config) path(p ...string) string { return filepath.Join(append([]string{c.Dir}, p...)...) }

// portNames are every port the stack needs, in a fixed order so BasePort
// gives stable numbers.
var portNames = []string{"gateway", "postgres", "redis", "kafka", "smtp", "traces",
	"routing.grpc", "routing.http", "slatimer.grpc", "slatimer.http", "intake.grpc", "intake.http",
	"notification.grpc", "notification.http", "reporting.grpc", "reporting.http",
	// Go profiles of each service, on loopback (tools/loadgen --profile).
	"routing.pprof", "slatimer.pprof", "intake.pprof", "notification.pprof", "reporting.pprof",
	// The bank's SMS gateway and its own systems' webhook receiver, played by sinks.
	"sms", "webhooks"}

// Up starts whatever is not running yet and waits until all is healthy.
// Running it twice is harmless.
func Up(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	for _, d := range []string{cfg.path("logs"), cfg.path("pids"), cfg.path("mail"), cfg.path("sms"), cfg.path("webhooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Stack{cfg: cfg}
	if s.Secrets, err = loadSecrets(cfg.path("secrets.env")); err != nil {
		return nil, err
	}
	if s.Keys, err = loadKeys(cfg.path("keys", "installation.json")); err != nil {
		return nil, err
	}
	if s.TrustFile, err = s.Keys.WriteFiles(cfg.path("keys")); err != nil {
		return nil, err
	}
	if s.Ports, err = assignPorts(cfg); err != nil {
		return nil, err
	}
	step := func(name string) { fmt.Fprintf(cfg.Log, "  %-13s ", name) }
	done := func(detail string) { fmt.Fprintln(cfg.Log, detail) }

	step("postgres")
	s.Postgres, err = localinfra.StartPostgresWithOptions(ctx, cfg.path("postgres"), s.Ports["postgres"],
		localinfra.PostgresOptions{UnsafeFastWrites: cfg.FastPostgres,
			// Statement statistics for tools/loadgen --profile (where the
			// database's time goes under load).
			Settings: map[string]string{"shared_preload_libraries": "pg_stat_statements"}})
	if err != nil {
		return nil, err
	}
	s.DBs = map[string]localinfra.ServiceDatabase{}
	for _, svc := range Services {
		if s.DBs[svc], err = s.Postgres.CreateServiceDatabase(ctx, svc); err != nil {
			return nil, err
		}
	}
	done(fmt.Sprintf("127.0.0.1:%d (databases %s)", s.Ports["postgres"], strings.Join(Services, ", ")))

	step("redis")
	if s.Redis, err = localinfra.StartRedis(ctx, cfg.path("redis"), s.Ports["redis"]); err != nil {
		return nil, err
	}
	done(s.Redis.Addr())

	for _, h := range []string{"broker", "mail", "sms", "webhooks", "traces"} {
		step(h)
		if err := s.StartHelper(ctx, h); err != nil {
			return nil, err
		}
		done(s.addr(helperPort[h]))
	}
	for _, svc := range Services {
		step(svc)
		if err := s.StartService(ctx, svc); err != nil {
			return nil, err
		}
		done(fmt.Sprintf("grpc %s, http %s", s.addr(svc+".grpc"), s.addr(svc+".http")))
	}
	step("gateway")
	gwArgs := []string{"serve-gateway", "--listen", s.addr("gateway"), "--values", cfg.ValuesFile}
	for _, svc := range Services {
		gwArgs = append(gwArgs, "--backend", svc+"="+s.addr(svc+".http"))
	}
	if err := s.startProcess(ctx, "gateway", filepath.Join(cfg.BinDir, "devstack"), gwArgs, nil, s.addr("gateway")); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, "http://"+s.addr("gateway")+"/healthz", 30*time.Second); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	done("http://" + s.addr("gateway"))
	return s, nil
}

// helperPort names the port each helper process listens on.
var helperPort = map[string]string{"broker": "kafka", "mail": "smtp", "sms": "sms", "webhooks": "webhooks", "traces": "traces"}

// StartHelper starts one of the stack's own helper processes (broker, mail,
// traces) if it is not running.
func (s *Stack) StartHelper(ctx context.Context, name string) error {
	var args []string
	switch name {
	case "broker":
		args = []string{"serve-broker", "--dir", s.cfg.path("kafka"), "--port", strconv.Itoa(s.Ports["kafka"]), "--partitions", "3"}
	case "mail":
		args = []string{"serve-mail", "--dir", s.cfg.path("mail"), "--listen", s.addr("smtp")}
	case "sms":
		args = []string{"serve-sms", "--dir", s.SMSDir(), "--listen", s.addr("sms"), "--token", s.devSecret("sms-gateway")}
	case "webhooks":
		args = []string{"serve-webhooks", "--dir", s.WebhookDir(), "--listen", s.addr("webhooks")}
	case "traces":
		args = []string{"serve-traces", "--listen", s.addr("traces"), "--file", s.cfg.path("traces.jsonl")}
	default:
		return fmt.Errorf("no helper %q", name)
	}
	return s.startProcess(ctx, name, filepath.Join(s.cfg.BinDir, "devstack"), args, nil, s.addr(helperPort[name]))
}

// RestartRedis kills Redis (SIGKILL) and starts it again empty, as a
// restart without persistence or a failover to an empty replica would.
func (s *Stack) RestartRedis(ctx context.Context) error {
	pid := s.Redis.PID()
	if pid <= 0 {
		return errors.New("redis is not running")
	}
	if _, err := signalAndWait(pid, syscall.SIGKILL, 5*time.Second); err != nil {
		return fmt.Errorf("kill redis: %w", err)
	}
	_ = os.Remove(s.cfg.path("redis", "redis.pid"))
	// The kernel may take a moment to release the port of a killed process.
	var err error
	for i := 0; i < 50; i++ {
		var r *localinfra.Redis
		if r, err = localinfra.StartRedis(ctx, s.cfg.path("redis"), s.Ports["redis"]); err == nil {
			s.Redis = r
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (s *Stack) addr(name string) string { return "127.0.0.1:" + strconv.Itoa(s.Ports[name]) }

// ServiceEnv is the environment a service runs with.
func (s *Stack) ServiceEnv(svc string) []string {
	env := []string{
		"DATABASE_URL=" + s.DBs[svc].AppURL,
		"KAFKA_BROKERS=" + s.addr("kafka"),
		"KAFKA_PARTITIONS=3",
		"AUTH_TRUST_FILE=" + s.TrustFile,
		"SERVICE_KEY_FILE=" + s.cfg.path("keys", svc+".jwk"),
		"GRPC_REFLECTION=true",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + s.addr("traces"),
		"OTEL_SERVICE_NAME=" + svc,
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"GRPC_ADDR=" + s.addr(svc+".grpc"),
		"HTTP_ADDR=" + s.addr(svc+".http"),
		"PPROF_ADDR=" + s.addr(svc+".pprof"),
		"LOG_LEVEL=info",
		"SHUTDOWN_TIMEOUT=5s",
	}
	switch svc {
	case "intake":
		env = append(env, "PII_ENCRYPTION_KEY="+s.Secrets.PIIKey, "AUDIT_MAC_KEYS="+s.Secrets.AuditMACKeys,
			"ROUTING_ADDR="+s.addr("routing.grpc"))
	case "routing":
		env = append(env, "REDIS_URL="+s.Redis.URL())
	case "slatimer":
		env = append(env, "ROUTING_ADDR="+s.addr("routing.grpc"))
	case "reporting":
		env = append(env, "INTAKE_ADDR="+s.addr("intake.grpc"))
	case "notification":
		env = append(env, "SMTP_ADDR="+s.addr("smtp"), "SMTP_FROM=counterdesk-demo@localhost", "INTAKE_ADDR="+s.addr("intake.grpc"),
			"ROUTING_ADDR="+s.addr("routing.grpc"),
			"SMS_GATEWAY_URL="+s.SMSGatewayURL(), "SMS_GATEWAY_AUTH=Bearer "+s.devSecret("sms-gateway"), "SMS_SENDER=counterdesk",
			"WEBHOOKS="+s.webhooksJSON(),
			"SURVEY_SIGNING_KEYS="+s.surveyKeys(), "SURVEY_BASE_URL=http://"+s.addr("gateway"),
			// No quiet hours on a dev stack: what a developer, a test or an
			// acceptance check registers is told at once, whatever the hour
			// (the chart keeps the 21:00–08:00 default; its logic has tests).
			"QUIET_HOURS=off")
	}
	return env
}

// StartService starts one service (if not running) and waits until it is ready.
func (s *Stack) StartService(ctx context.Context, svc string) error {
	if pid, err := localinfra.ReadPIDFile(s.cfg.path("pids", svc+".pid")); err != nil || !localinfra.ProcessAlive(pid) {
		if err := s.migrate(ctx, svc); err != nil {
			return err
		}
	}
	if err := s.startProcess(ctx, svc, filepath.Join(s.cfg.BinDir, svc), nil, s.ServiceEnv(svc), s.addr(svc+".http")); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+s.addr(svc+".http")+"/readyz", 60*time.Second); err != nil {
		return fmt.Errorf("%s not ready (see %s): %w", svc, s.cfg.path("logs", svc+".log"), err)
	}
	return nil
}

// StartReplica starts replica n (2, 3, …) of svc, named "<svc>-<n>", on
// loopback ports of its own: it consumes in the same groups as the first
// (the partitions are shared between them), relays its own outbox and
// serves its own gRPC and HTTP ports (the gateway sends to the first only).
// Stopped by Down like the rest.
func (s *Stack) StartReplica(ctx context.Context, svc string, n int) error {
	if n < 2 {
		return fmt.Errorf("replica %d of %s: the first is StartService's", n, svc)
	}
	name := fmt.Sprintf("%s-%d", svc, n)
	ports := map[string]string{}
	for _, p := range []string{"GRPC_ADDR", "HTTP_ADDR", "PPROF_ADDR"} {
		port, err := localinfra.FreePort()
		if err != nil {
			return err
		}
		ports[p] = "127.0.0.1:" + strconv.Itoa(port)
	}
	env := s.ServiceEnv(svc)
	for i, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok && ports[k] != "" {
			env[i] = k + "=" + ports[k]
		}
	}
	env = append(env, "OTEL_RESOURCE_ATTRIBUTES=service.instance.id="+name)
	if err := s.startProcess(ctx, name, filepath.Join(s.cfg.BinDir, svc), nil, env, ports["HTTP_ADDR"]); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+ports["HTTP_ADDR"]+"/readyz", 60*time.Second); err != nil {
		return fmt.Errorf("%s not ready (see %s): %w", name, s.cfg.path("logs", name+".log"), err)
	}
	return nil
}

// migrate runs `<svc> migrate` as the database owner, as the Helm chart's
// migration Job does: the service itself connects as its app role.
func (s *Stack) migrate(ctx context.Context, svc string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.cfg.BinDir, svc), "migrate")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.DBs[svc].OwnerURL, "APP_DB_ROLE="+s.DBs[svc].AppRole, "LOG_LEVEL=warn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s migrate: %w\n%s", svc, err, out)
	}
	return nil
}

// Kill sends SIGKILL to a stack process and waits until it is gone.
func (s *Stack) Kill(name string) error {
	pid, err := localinfra.ReadPIDFile(s.cfg.path("pids", name+".pid"))
	if err != nil {
		return err
	}
	if _, err := signalAndWait(pid, syscall.SIGKILL, 5*time.Second); err != nil {
		return fmt.Errorf("kill %s (pid %d): %w", name, pid, err)
	}
	return os.Remove(s.cfg.path("pids", name+".pid"))
}

// startProcess starts bin in its own process group with output to
// logs/<name>.log, unless the PID file names a live process; it waits until
// waitAddr accepts connections.
func (s *Stack) startProcess(ctx context.Context, name, bin string, args, env []string, waitAddr string) error {
	pidFile := s.cfg.path("pids", name+".pid")
	if pid, err := localinfra.ReadPIDFile(pidFile); err == nil && localinfra.ProcessAlive(pid) {
		return nil
	}
	logf, err := os.OpenFile(s.cfg.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }() // reap; the PID file is what `down` uses
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", waitAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if !localinfra.ProcessAlive(pid) {
			return fmt.Errorf("%s exited at start; see %s:\n%s", name, s.cfg.path("logs", name+".log"), tail(s.cfg.path("logs", name+".log")))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within 60s", name, waitAddr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Down stops everything the stack started, by PID, then Redis and Postgres.
func Down(cfg Config) error {
	var errs []error
	services := slices.Clone(Services)
	slices.Reverse(services)
	names := append(append([]string{"gateway"}, services...), "mail", "sms", "webhooks", "traces", "broker")
	// Replicas (StartReplica) first: "<svc>-<n>".
	for _, svc := range services {
		replicas, _ := filepath.Glob(cfg.path("pids", svc+"-*.pid"))
		for _, r := range replicas {
			names = append([]string{strings.TrimSuffix(filepath.Base(r), ".pid")}, names...)
		}
	}
	for _, n := range names {
		pidFile := cfg.path("pids", n+".pid")
		if pid, err := localinfra.ReadPIDFile(pidFile); err == nil {
			if gone, _ := signalAndWait(pid, syscall.SIGTERM, 10*time.Second); !gone {
				_, _ = signalAndWait(pid, syscall.SIGKILL, 5*time.Second)
			}
		}
		_ = os.Remove(pidFile)
	}
	// Redis and Postgres write their own PID files; Postgres shuts down
	// fast (rolling back open transactions) on SIGINT.
	errs = append(errs, stopPID(cfg.path("redis", "redis.pid"), syscall.SIGTERM))
	errs = append(errs, stopPID(cfg.path("postgres", "postmaster.pid"), syscall.SIGINT))
	return errors.Join(errs...)
}

func stopPID(pidFile string, sig syscall.Signal) error {
	pid, err := localinfra.ReadPIDFile(pidFile)
	if err != nil {
		return nil // not running
	}
	gone, err := signalAndWait(pid, sig, 15*time.Second)
	if err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	if !gone {
		return fmt.Errorf("pid %d (%s) still running after 15s", pid, pidFile)
	}
	return nil
}

// signalAndWait sends sig to pid if it is alive and reports whether it is
// gone within timeout.
func signalAndWait(pid int, sig syscall.Signal, timeout time.Duration) (bool, error) {
	if !localinfra.ProcessAlive(pid) {
		return true, nil
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return false, err
	}
	return localinfra.WaitProcessExit(pid, timeout), nil
}

func assignPorts(cfg Config) (map[string]int, error) {
	portsFile := cfg.path("ports.env")
	ports := map[string]int{}
	if raw, err := os.ReadFile(portsFile); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if n, err := strconv.Atoi(v); ok && err == nil {
				ports[k] = n
			}
		}
		if len(ports) == len(portNames) {
			return ports, nil
		}
	}
	for i, name := range portNames {
		if _, ok := ports[name]; ok {
			continue // a running stack keeps its ports when names are added
		}
		if cfg.BasePort > 0 && !inUse(cfg.BasePort+i) && !taken(ports, cfg.BasePort+i) {
			ports[name] = cfg.BasePort + i
			continue
		}
		// The kernel may hand out a port it just gave for another name (it is
		// free until something listens): never the same port twice.
		p, err := localinfra.FreePort()
		for err == nil && taken(ports, p) {
			p, err = localinfra.FreePort()
		}
		if err != nil {
			return nil, err
		}
		ports[name] = p
	}
	var b strings.Builder
	for _, n := range portNames {
		fmt.Fprintf(&b, "%s=%d\n", n, ports[n])
	}
	return ports, os.WriteFile(portsFile, []byte(b.String()), 0o644)
}

func taken(ports map[string]int, p int) bool {
	for _, q := range ports {
		if q == p {
			return true
		}
	}
	return false
}

func inUse(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
	if err == nil {
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

func loadSecrets(path string) (Secrets, error) {
	var s Secrets
	if raw, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "PII_ENCRYPTION_KEY":
				s.PIIKey = v
			case "AUDIT_MAC_KEYS":
				s.AuditMACKeys = v
			}
		}
	}
	if s.PIIKey != "" && s.AuditMACKeys != "" {
		return s, nil
	}
	if s.PIIKey == "" {
		pk := make([]byte, 32)
		if _, err := rand.Read(pk); err != nil {
			return s, err
		}
		s.PIIKey = base64.StdEncoding.EncodeToString(pk)
	}
	if s.AuditMACKeys == "" {
		mk := make([]byte, 32)
		if _, err := rand.Read(mk); err != nil {
			return s, err
		}
		s.AuditMACKeys = "dev1:" + base64.StdEncoding.EncodeToString(mk)
	}
	// No signing key: tokens are signed by each party's own private key
	// (keys/installation.json), never by a secret the services share.
	content := "PII_ENCRYPTION_KEY=" + s.PIIKey + "\nAUDIT_MAC_KEYS=" + s.AuditMACKeys + "\n"
	return s, os.WriteFile(path, []byte(content), 0o600)
}

// loadKeys reads the stack's identity providers, creating them (both banks,
// the operators, every service, one bank-system API key per bank) the first
// time.
func loadKeys(path string) (*authdev.Installation, error) {
	if in, err := authdev.Load(path); err == nil {
		return in, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	in, err := authdev.New([]string{DemoTenant, OtherTenant}, Services)
	if err != nil {
		return nil, err
	}
	if _, err := in.NewAPIKey(DemoTenant, "demo-teller-terminal"); err != nil {
		return nil, err
	}
	if _, err := in.NewAPIKey(OtherTenant, "demo2-teller-terminal"); err != nil {
		return nil, err
	}
	return in, in.Save(path)
}

// Addr returns "127.0.0.1:port" of a named port (e.g. "gateway", "smtp").
func (s *Stack) Addr(name string) string { return s.addr(name) }

// MailDir is where the SMTP server writes .eml files.
func (s *Stack) MailDir() string { return s.cfg.path("mail") }

// SMSDir is where the SMS gateway sink writes one JSON file per message.
func (s *Stack) SMSDir() string { return s.cfg.path("sms") }

// SMSGatewayURL is where notification posts text messages.
func (s *Stack) SMSGatewayURL() string { return "http://" + s.addr("sms") + "/v1/sms" }

// WebhookDir is where the webhook sink writes one JSON file per hook.
func (s *Stack) WebhookDir() string { return s.cfg.path("webhooks") }

// WebhookSecret is the secret bank tenant's hooks are signed with in this
// stack: derived from the stack's own key, so it stays the same across
// restarts and differs per bank and per stack.
func (s *Stack) WebhookSecret(tenant string) string { return s.devSecret("webhook/" + tenant) }

// devSecret derives a dev-only secret for purpose from the stack's PII key.
func (s *Stack) devSecret(purpose string) string {
	m := hmac.New(sha256.New, []byte(s.Secrets.PIIKey))
	m.Write([]byte("counterdesk devstack " + purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// webhooksJSON is notification's WEBHOOKS: each demo bank's hooks go to
// the webhook sink under /hooks/<bank>, signed with the bank's own secret.
func (s *Stack) webhooksJSON() string {
	type target struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	all := map[string]target{}
	for _, t := range []string{DemoTenant, OtherTenant} {
		all[t] = target{URL: "http://" + s.addr("webhooks") + "/hooks/" + t, Secret: s.WebhookSecret(t)}
	}
	raw, _ := json.Marshal(all)
	return string(raw)
}

// LogFile is a process's log.
func (s *Stack) LogFile(name string) string { return s.cfg.path("logs", name+".log") }

func tail(path string) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s answered %d", url, resp.StatusCode)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not healthy after %s: %w", timeout, last)
}

// SortedPorts lists the stack's ports for printing.
func (s *Stack) SortedPorts() []string {
	var out []string
	for k, v := range s.Ports {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
