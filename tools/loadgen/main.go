// Command loadgen drives the stack `make up` started (it reads
// .devstack/endpoints.env) and measures it:
//
//	go run ./tools/loadgen intake --transport grpc --count 2000 --concurrency 16 --json
//	go run ./tools/loadgen pipeline --rate 100 --duration 20s --json
//
// intake registers --count cases with --concurrency clients, closed-loop
// (each client sends its next case when the last one is answered), or
// open-loop at --rate cases/s; then measures the raw commit rate of the
// same Postgres server at the same concurrency (single-row INSERTs in a
// scratch database "loadgen" it creates and drops) and reports the ratio.
//
// pipeline registers at a steady --rate for --duration and measures, per
// case, the time from the create answer until each effect shows: its owner
// (routing's assignments), its queue entry (the branch queue in Redis), its
// deadlines (slatimer), the acknowledgment mail sent (notification's
// deliveries) and the case counted (reporting's case_facts); it polls in
// batches, one query per effect for every case still waiting for it.
//
// Cases go round-robin to every branch of both demo banks
// (deploy/demo/org-demo-bank*.yaml), each bank with its own system's API
// key; every case has its own idempotency key, customer and e-mail address.
//
// Both then wait (up to --settle) until every effect of every case shows and
// verify that each case has each effect exactly once; any violation is
// listed on stderr, the line says "verified": false and the exit status is
// 1. The result is one JSON line on stdout with --json, else a table. A
// progress bar is drawn on stderr when it is a terminal.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/counterdesk/counterdesk/tools/internal/devenv"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errViolations: the run finished, and some effect is not there exactly once.
var errViolations = errors.New("effects not exactly once")

const usage = `usage:
  loadgen intake   --transport grpc|http --count N --concurrency C [--rate R] [--json]
  loadgen pipeline --rate R --duration D [--json]
run "loadgen intake -h" or "loadgen pipeline -h" for every flag`

// run is the command; it returns the exit status: 0, 1 on violations or
// errors, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "intake":
		err = runIntake(ctx, args[1:], stdout, stderr)
	case "pipeline":
		err = runPipeline(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "loadgen: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	case errors.Is(err, errViolations):
		return 1
	}
	fmt.Fprintln(stderr, "loadgen:", err)
	return 1
}

var errUsage = errors.New("usage")

// common are the flags and set-up both commands share.
type common struct {
	endpoints, repo, transport string
	concurrency                int
	asJSON                     bool
	settle, poll               time.Duration
	profileDir                 string
	profileSeconds             int
}

func (c *common) flags(fs *flag.FlagSet, concurrency int, settle time.Duration) {
	fs.StringVar(&c.endpoints, "endpoints", ".devstack/endpoints.env", "endpoints file written by `make up`")
	fs.StringVar(&c.repo, "repo", "", "repository with deploy/demo (default: found from the working directory)")
	fs.StringVar(&c.transport, "transport", "grpc", "grpc (intake's gRPC port) or http (the gateway)")
	fs.IntVar(&c.concurrency, "concurrency", concurrency, "concurrent clients (in an open loop: most requests in flight)")
	fs.BoolVar(&c.asJSON, "json", false, "print the result as one JSON line")
	fs.DurationVar(&c.settle, "settle", settle, "how long to wait after the load for every effect to show")
	fs.DurationVar(&c.poll, "poll", 100*time.Millisecond, "how often to look for effects")
	fs.StringVar(&c.profileDir, "profile", "", "save a CPU profile of every service and Postgres's top statements, taken during the load, into this directory")
	fs.IntVar(&c.profileSeconds, "profile-seconds", 15, "how long the CPU profiles run from the start of the load (keep it within the load)")
}

// startProfile begins --profile's profiles, or returns nil without it.
func (c *common) startProfile(ctx context.Context, s *session) (*profiler, error) {
	if c.profileDir == "" {
		return nil, nil
	}
	if c.profileSeconds < 1 {
		return nil, fmt.Errorf("%w: --profile-seconds must be at least 1", errUsage)
	}
	p, err := newProfiler(c.profileDir, c.profileSeconds, s.ep.Pprof, s.ep.PostgresURL)
	if err != nil {
		return nil, err
	}
	p.start(ctx)
	return p, nil
}

func (c *common) check() error {
	if c.concurrency < 1 {
		return fmt.Errorf("%w: --concurrency must be at least 1", errUsage)
	}
	if c.transport != "grpc" && c.transport != "http" {
		return fmt.Errorf("%w: --transport %q: want grpc or http", errUsage, c.transport)
	}
	if c.poll <= 0 {
		return fmt.Errorf("%w: --poll must be positive", errUsage)
	}
	return nil
}

// session is a run's connections to the stack.
type session struct {
	ep      endpoints
	targets []target
	stores  *stores
	create  creator
	run     string // the run's tag, in every idempotency key and address
}

func (c *common) open(ctx context.Context) (*session, error) {
	env, err := devenv.Read(c.endpoints)
	if err != nil {
		return nil, fmt.Errorf("read %s (run `make up` first): %w", c.endpoints, err)
	}
	ep, err := endpointsFrom(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.endpoints, err)
	}
	banks, err := stack.LoadDemoBanks(c.repo)
	if err != nil {
		return nil, err
	}
	targets, err := targetsFrom(banks, ep.Tokens)
	if err != nil {
		return nil, err
	}
	st, err := openStores(ctx, ep)
	if err != nil {
		return nil, err
	}
	cr, err := newCreator(c.transport, ep, c.concurrency)
	if err != nil {
		st.close()
		return nil, err
	}
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	return &session{ep: ep, targets: targets, stores: st, create: cr, run: hex.EncodeToString(tag[:])}, nil
}

func (s *session) close() {
	s.create.close()
	s.stores.close()
}

// load is what drive measured.
type load struct {
	outcomes []outcome
	created  []*tracked
	errors   int
	elapsed  time.Duration // first send to last answer
}

// register sends n cases (see drive) and collects the outcomes; each
// created case is handed to onCreated as soon as it is answered.
func (s *session) register(ctx context.Context, cfg driveConfig, stderr io.Writer, extra func() string, onCreated func(*tracked)) load {
	var mu sync.Mutex
	var l load
	bar := newProgress(stderr, cfg.n, extra)
	errShown := 0
	start := time.Now()
	var last time.Time
	drive(ctx, cfg, func(ctx context.Context, i int) (string, error) {
		return s.create.create(ctx, specFor(s.run, i, s.targets))
	}, func(o outcome) {
		bar.add(o.err)
		mu.Lock()
		defer mu.Unlock()
		l.outcomes = append(l.outcomes, o)
		if o.done.After(last) {
			last = o.done
		}
		if o.err != nil {
			l.errors++
			if errShown < 5 {
				errShown++
				fmt.Fprintf(stderr, "%scase %d: %v\n", clearLine(stderr), o.i, o.err)
			}
			return
		}
		c := &tracked{spec: specFor(s.run, o.i, s.targets), id: o.id, created: o.done}
		l.created = append(l.created, c)
		if onCreated != nil {
			onCreated(c)
		}
	})
	bar.finish()
	if l.errors > errShown {
		fmt.Fprintf(stderr, "... %d failed requests in all\n", l.errors)
	}
	if !last.IsZero() {
		l.elapsed = last.Sub(start)
	}
	return l
}

func (l load) latencies() latencies {
	ds := make([]time.Duration, 0, len(l.outcomes))
	for _, o := range l.outcomes {
		if o.err == nil {
			ds = append(ds, o.latency)
		}
	}
	return summarise(ds)
}

// settleAndVerify waits for the rest of the effects, then verifies.
func (s *session) settleAndVerify(ctx context.Context, c *common, tr *tracker, since time.Time, stderr io.Writer) (verification, error) {
	start := time.Now()
	var onTick func()
	if isTerminal(stderr) {
		onTick = func() { fmt.Fprintf(stderr, "%ssettling: %s", clearLine(stderr), tr.waitingText()) }
	}
	tr.settle(ctx, c.poll, c.settle, onTick)
	fmt.Fprint(stderr, clearLine(stderr))
	settled := time.Since(start)
	unsettled, per := tr.waiting()
	if unsettled > 0 {
		fmt.Fprintf(stderr, "after %s still waiting for %d cases:", c.settle, unsettled)
		for e := range nEffects {
			fmt.Fprintf(stderr, " %s %d", effectNames[e], per[e])
		}
		fmt.Fprintln(stderr)
		if err := tr.pollErr; err != nil {
			fmt.Fprintln(stderr, "last poll:", err)
		}
	}
	vs, err := verify(ctx, s.stores, s.ep.MailDir, since, tr.all())
	if err != nil {
		return verification{}, fmt.Errorf("verify: %w", err)
	}
	for i, v := range vs {
		if i == 200 {
			fmt.Fprintf(stderr, "... and %d more violations\n", len(vs)-i)
			break
		}
		fmt.Fprintln(stderr, "VIOLATION", v)
	}
	return newVerification(settled, unsettled, vs), nil
}

func output(w io.Writer, asJSON bool, v any) error {
	if asJSON {
		return writeJSON(w, v)
	}
	return writeText(w, v)
}

func runIntake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs, 16, 3*time.Minute)
	count := fs.Int("count", 1000, "cases to register")
	rate := fs.Float64("rate", 0, "open loop at this many cases/s (0: closed loop)")
	pgFor := fs.Duration("pg-duration", 5*time.Second, "how long to measure the raw Postgres commit rate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if *count < 1 || *rate < 0 || *pgFor <= 0 {
		return fmt.Errorf("%w: --count must be at least 1, --rate not negative, --pg-duration positive", errUsage)
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	since := time.Now()
	tr := newTracker(s.stores)
	// Effects are looked for only after the load, so that polling takes no
	// CPU from the registration being measured.
	prof, err := c.startProfile(ctx, s)
	if err != nil {
		return err
	}
	l := s.register(ctx, driveConfig{n: *count, concurrency: c.concurrency, rate: *rate}, stderr, nil, nil)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var profile *profileResult
	if prof != nil {
		pr := prof.finish(ctx)
		profile = &pr
	}
	for _, tc := range l.created {
		tr.add(tc)
	}
	ver, err := s.settleAndVerify(ctx, &c, tr, since, stderr)
	if err != nil {
		return err
	}
	prof.account(profile, len(l.created), sampleCPU())
	// The raw rate is measured on the quiet machine, after the pipeline
	// drained what the load left it.
	pg, err := measureCommitRate(ctx, s.ep.PostgresURL, c.concurrency, *pgFor)
	if err != nil {
		return fmt.Errorf("postgres commit rate: %w", err)
	}
	lat := l.latencies()
	res := intakeResult{Mode: "intake", Transport: c.transport, Count: *count, Concurrency: c.concurrency, Rate: *rate,
		Branches: len(s.targets), Created: len(l.created), Errors: l.errors, DurationS: round2(l.elapsed.Seconds()),
		ThroughputPerS: perSecond(len(l.created), l.elapsed),
		P50Ms:          ms(lat.P50), P95Ms: ms(lat.P95), P99Ms: ms(lat.P99), MaxMs: ms(lat.Max), LatencyFrom: "sent",
		PgCommitRatePerS: pg.PerSecond, PgSeconds: round2(pg.Elapsed.Seconds()), PgSynchronousComm: pg.SynchronousCommit,
		PgFsync: pg.Fsync, Profile: profile, verification: ver}
	if *rate > 0 {
		res.LatencyFrom = "scheduled"
	}
	if pg.PerSecond > 0 {
		res.Ratio = float64(int(res.ThroughputPerS/pg.PerSecond*10000)) / 10000
	}
	if err := output(stdout, c.asJSON, res); err != nil {
		return err
	}
	return resultErr(ver, len(l.created))
}

func resultErr(v verification, created int) error {
	if !v.Verified {
		return errViolations
	}
	if created == 0 {
		return errors.New("no case was created")
	}
	return nil
}

func runPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs, 64, time.Minute)
	rate := fs.Float64("rate", 100, "cases/s to register")
	duration := fs.Duration("duration", 20*time.Second, "how long to register")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	n := countFor(*rate, *duration)
	if *rate <= 0 || n < 1 {
		return fmt.Errorf("%w: --rate and --duration must make at least one case", errUsage)
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	since := time.Now()
	tr := newTracker(s.stores)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tr.watch(watchCtx, c.poll)
	}()
	prof, err := c.startProfile(ctx, s)
	if err != nil {
		stopWatch()
		<-watched
		return err
	}
	l := s.register(ctx, driveConfig{n: n, concurrency: c.concurrency, rate: *rate}, stderr, tr.waitingText, tr.add)
	stopWatch()
	<-watched
	var profile *profileResult
	if prof != nil {
		pr := prof.finish(ctx)
		profile = &pr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// What was still missing when the registration stopped: one more look
	// first, so that a case is not counted for a poll that did not run yet.
	_ = tr.poll(ctx)
	backlog, _ := tr.waiting()
	ver, err := s.settleAndVerify(ctx, &c, tr, since, stderr)
	if err != nil {
		return err
	}
	prof.account(profile, len(l.created), sampleCPU())
	cases := tr.all()
	per, all := effectLatencies(cases)
	effects := map[string]effectSummary{}
	for e := range nEffects {
		effects[effectNames[e]] = effectSummaryOf(per[e], effectClock[e])
	}
	effects["all"] = effectSummaryOf(all, "last of the above")
	var done []time.Time
	for _, tc := range cases {
		if t := tc.lastEffect(); !t.IsZero() {
			done = append(done, t)
		}
	}
	lat := l.latencies()
	res := pipelineResult{Mode: "pipeline", Transport: c.transport, Rate: *rate, DurationS: round2(duration.Seconds()),
		Concurrency: c.concurrency, Branches: len(s.targets), Count: n, Created: len(l.created), Errors: l.errors,
		RegistrationRatePerS: perSecond(len(l.created), l.elapsed), CreateP50Ms: ms(lat.P50), CreateP99Ms: ms(lat.P99),
		Effects: effects, BacklogAtEnd: backlog, PollMs: c.poll.Milliseconds(), Profile: profile, verification: ver}
	res.SustainedThroughputPerS = sustained(done)
	if err := output(stdout, c.asJSON, res); err != nil {
		return err
	}
	return resultErr(ver, len(l.created))
}

func effectSummaryOf(ds []time.Duration, clock string) effectSummary {
	l := summarise(ds)
	return effectSummary{P50Ms: ms(l.P50), P99Ms: ms(l.P99), MaxMs: ms(l.Max), Count: l.N, Clock: clock}
}
