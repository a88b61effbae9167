package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Where the machine's CPU went during a load (--profile): every process's
// user+system time from /proc, grouped by what it is (each service, the
// Postgres server and its backends, Redis, the devstack's broker, gateway
// and trace viewer, loadgen itself), and the machine's busy time. Dividing
// by the cases registered gives the CPU one case costs the whole stack —
// and so the most this machine can register per second.

// clockTicks is USER_HZ, the unit of /proc's times (100 on Linux).
const clockTicks = 100

type cpuSample struct {
	at      time.Time
	byGroup map[string]float64 // seconds
	busy    float64            // machine-wide busy seconds (all cores)
	cores   int
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), byGroup: map[string]float64{}}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15): comm may hold spaces.
		line := string(raw)
		open, closeIdx := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || closeIdx < open {
			continue
		}
		comm := line[open+1 : closeIdx]
		fields := strings.Fields(line[closeIdx+1:])
		if len(fields) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(fields[11], 64)
		st, _ := strconv.ParseFloat(fields[12], 64)
		s.byGroup[cpuGroup(comm, e.Name())] += (ut + st) / clockTicks
	}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			f := strings.Fields(line)
			if len(f) > 8 && f[0] == "cpu" {
				var total, idle float64
				for i, v := range f[1:] {
					x, _ := strconv.ParseFloat(v, 64)
					total += x
					if i == 3 || i == 4 { // idle, iowait
						idle += x
					}
				}
				s.busy = (total - idle) / clockTicks
			} else if len(f) > 0 && strings.HasPrefix(f[0], "cpu") {
				s.cores++
			}
		}
	}
	return s
}

// cpuGroup names what a process is for the CPU account.
func cpuGroup(comm, pid string) string {
	switch {
	case comm == "postgres":
		return "postgres"
	case strings.HasPrefix(comm, "redis"):
		return "redis"
	case comm == "devstack":
		return "devstack (broker, gateway, traces, sinks)"
	case pid == strconv.Itoa(os.Getpid()):
		return "loadgen"
	}
	for _, svc := range []string{"intake", "routing", "slatimer", "notification", "reporting"} {
		if comm == svc {
			return svc
		}
	}
	return "other"
}

// cpuAccount is the CPU the load cost, per group and per case.
type cpuAccount struct {
	Seconds float64 `json:"seconds"`
	// BusyCores is the machine's busy time over the wall time (2.0: both
	// cores of this machine busy all the time).
	BusyCores float64 `json:"busy_cores"`
	Cores     int     `json:"cores"`
	// CPUMsPerCase is each group's CPU per registered case; Total theirs.
	CPUMsPerCase map[string]float64 `json:"cpu_ms_per_case"`
	TotalMsCase  float64            `json:"total_cpu_ms_per_case"`
	// CeilingPerS is what this machine could register per second if every
	// core did nothing but this work: cores × 1000 / total_cpu_ms_per_case.
	CeilingPerS float64 `json:"ceiling_per_s"`
}

func accountCPU(before, after cpuSample, cases int) cpuAccount {
	wall := after.at.Sub(before.at).Seconds()
	a := cpuAccount{Seconds: round2(wall), Cores: after.cores, CPUMsPerCase: map[string]float64{}}
	if wall > 0 {
		a.BusyCores = round2((after.busy - before.busy) / wall)
	}
	if cases < 1 {
		return a
	}
	for g, v := range after.byGroup {
		d := v - before.byGroup[g]
		if d <= 0 {
			continue
		}
		ms := d * 1000 / float64(cases)
		a.CPUMsPerCase[g] = round2(ms)
		a.TotalMsCase += ms
	}
	a.TotalMsCase = round2(a.TotalMsCase)
	if a.TotalMsCase > 0 {
		a.CeilingPerS = round2(float64(a.Cores) * 1000 / a.TotalMsCase)
	}
	return a
}
