package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Where the time goes (--profile DIR): a CPU profile of every service
// taken while the load runs, from the pprof listener the devstack gives each
// one (<SERVICE>_PPROF_URL), and Postgres's statement statistics
// (pg_stat_statements, loaded by the devstack) reset at the start of the
// load and read at its end. The profiles are saved in DIR (inspect them with
// `go tool pprof -top DIR/intake.cpu.pb.gz`); the result carries a summary.

// serviceProfile is one service's share of the machine during the load.
type serviceProfile struct {
	// CPUSeconds the service used during the profile, and that as a share
	// of one core (1.0 = a whole core).
	CPUSeconds float64  `json:"cpu_s"`
	Cores      float64  `json:"cores"`
	Top        []string `json:"top"` // the functions with the most own CPU time
	File       string   `json:"file"`
}

// statement is one of the statements Postgres spent most time on.
type statement struct {
	Database string  `json:"database"`
	Calls    int64   `json:"calls"`
	TotalMs  float64 `json:"total_ms"`
	MeanMs   float64 `json:"mean_ms"`
	Query    string  `json:"query"`
}

// profileResult is the --profile part of a result.
type profileResult struct {
	Seconds    float64                   `json:"seconds"`
	Services   map[string]serviceProfile `json:"services"`
	Statements []statement               `json:"statements,omitempty"`
	// CPU is the whole machine's account of the load, from its start until
	// every effect showed (finish): what one case costs the stack.
	CPU *cpuAccount `json:"cpu,omitempty"`
	// StatementsError says why there are no statements (e.g. the server
	// was started without pg_stat_statements).
	StatementsError string `json:"statements_error,omitempty"`
	Dir             string `json:"dir"`
}

// profiler takes the profiles of one load.
type profiler struct {
	dir     string
	seconds int
	urls    map[string]string // service → pprof base URL
	pgURL   string
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []string
	files   map[string]string
	cpu0    cpuSample
	cpu1    cpuSample
}

// account is the machine's CPU account of the load for cases registered:
// from the start of the load until the effects settled (until).
func (p *profiler) account(res *profileResult, cases int, until cpuSample) {
	if p == nil || res == nil {
		return
	}
	a := accountCPU(p.cpu0, until, cases)
	res.CPU = &a
}

func newProfiler(dir string, seconds int, urls map[string]string, pgURL string) (*profiler, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: --profile needs the services' <SERVICE>_PPROF_URL in the endpoints file (restart with `make down && make up`)", errUsage)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &profiler{dir: dir, seconds: seconds, urls: urls, pgURL: pgURL, files: map[string]string{}}, nil
}

// start resets the statement statistics and begins every CPU profile.
func (p *profiler) start(ctx context.Context) {
	p.cpu0 = sampleCPU()
	if err := p.resetStatements(ctx); err != nil {
		p.fail("statements", err)
	}
	for svc, u := range p.urls {
		p.wg.Go(func() {
			file := filepath.Join(p.dir, svc+".cpu.pb.gz")
			if err := fetch(ctx, u+"/profile?seconds="+strconv.Itoa(p.seconds), file, time.Duration(p.seconds+30)*time.Second); err != nil {
				p.fail(svc, err)
				return
			}
			p.mu.Lock()
			p.files[svc] = file
			p.mu.Unlock()
		})
	}
}

func (p *profiler) fail(what string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, what+": "+err.Error())
}

func fetch(ctx context.Context, url, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (p *profiler) resetStatements(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return err
}

// finish waits for the profiles and summarises them with the statements
// Postgres spent most time on since start.
func (p *profiler) finish(ctx context.Context) profileResult {
	p.wg.Wait()
	p.cpu1 = sampleCPU()
	res := profileResult{Seconds: float64(p.seconds), Services: map[string]serviceProfile{}, Dir: p.dir}
	for svc, file := range p.files {
		sp, err := summariseProfile(ctx, file)
		if err != nil {
			p.fail(svc, err)
			continue
		}
		sp.Cores = float64(int(sp.CPUSeconds/float64(p.seconds)*100)) / 100
		res.Services[svc] = sp
	}
	st, err := p.topStatements(ctx, 12)
	if err != nil {
		res.StatementsError = err.Error()
	}
	res.Statements = st
	if len(p.errs) > 0 {
		slices.Sort(p.errs)
		if res.StatementsError == "" {
			res.StatementsError = strings.Join(p.errs, "; ")
		} else {
			res.StatementsError += "; " + strings.Join(p.errs, "; ")
		}
	}
	return res
}

var totalSamples = regexp.MustCompile(`Total samples = ([0-9.]+)(ms|s|mins)`)

// summariseProfile reads a CPU profile with `go tool pprof -top` (the Go
// toolchain's own reader) and keeps its total and busiest functions.
func summariseProfile(ctx context.Context, file string) (serviceProfile, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=8", file).Output()
	if err != nil {
		return serviceProfile{}, fmt.Errorf("go tool pprof %s: %w", file, err)
	}
	if err := os.WriteFile(strings.TrimSuffix(file, ".cpu.pb.gz")+".top.txt", out, 0o644); err != nil {
		return serviceProfile{}, err
	}
	sp := serviceProfile{File: file}
	if m := totalSamples.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		switch string(m[2]) {
		case "ms":
			v /= 1000
		case "mins":
			v *= 60
		}
		sp.CPUSeconds = v
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	table := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "flat ") {
			table = true
			continue
		}
		if table && line != "" {
			sp.Top = append(sp.Top, strings.Join(strings.Fields(line), " "))
		}
	}
	return sp, nil
}

func (p *profiler) topStatements(ctx context.Context, n int) ([]statement, error) {
	conn, err := pgx.Connect(ctx, p.pgURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT d.datname, s.calls, s.total_exec_time, s.mean_exec_time, s.query
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname <> 'postgres'
		ORDER BY s.total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (statement, error) {
		var s statement
		err := r.Scan(&s.Database, &s.Calls, &s.TotalMs, &s.MeanMs, &s.Query)
		s.TotalMs, s.MeanMs = round2(s.TotalMs), round2(s.MeanMs)
		s.Query = strings.Join(strings.Fields(s.Query), " ")
		if len(s.Query) > 160 {
			s.Query = s.Query[:157] + "..."
		}
		return s, err
	})
}
