package main

import (
	"testing"
	"time"
)

func TestTheCPUAccountSplitsWhatACaseCostsAndTheCeiling(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	before := cpuSample{at: t0, byGroup: map[string]float64{"intake": 10, "postgres": 100, "other": 5}, busy: 1000, cores: 2}
	after := cpuSample{at: t0.Add(10 * time.Second), byGroup: map[string]float64{"intake": 12, "postgres": 106, "other": 5, "routing": 2},
		busy: 1018, cores: 2}
	a := accountCPU(before, after, 1000)
	if a.BusyCores != 1.8 || a.Cores != 2 {
		t.Errorf("busy %.2f of %d cores, want 1.8 of 2", a.BusyCores, a.Cores)
	}
	want := map[string]float64{"intake": 2, "postgres": 6, "routing": 2}
	for g, ms := range want {
		if a.CPUMsPerCase[g] != ms {
			t.Errorf("%s: %.2f ms per case, want %.2f", g, a.CPUMsPerCase[g], ms)
		}
	}
	if _, ok := a.CPUMsPerCase["other"]; ok {
		t.Error("a group that used nothing is listed")
	}
	if a.TotalMsCase != 10 || a.CeilingPerS != 200 {
		t.Errorf("total %.2f ms per case, ceiling %.2f/s; want 10 and 200", a.TotalMsCase, a.CeilingPerS)
	}
	if s := sampleCPU(); s.cores < 1 || s.busy <= 0 || !hasGroup(s, "loadgen") {
		t.Errorf("this machine's sample: %+v", s)
	}
}

func hasGroup(s cpuSample, g string) bool {
	_, ok := s.byGroup[g]
	return ok
}
