package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// A CPU profile of this process, read back the way --profile reads a
// service's: its CPU time and busiest functions.
func TestAProfileIsSummarisedWithItsCPUTimeAndTopFunctions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "self.cpu.pb.gz")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	x := 0
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		x += spin(1000)
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sp, err := summariseProfile(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if sp.CPUSeconds <= 0.05 || sp.CPUSeconds > 5 {
		t.Errorf("CPU %.3f s for a 0.3 s busy loop", sp.CPUSeconds)
	}
	if len(sp.Top) == 0 || !strings.Contains(strings.Join(sp.Top, "\n"), "spin") {
		t.Errorf("top %v does not name the busy function (x=%d)", sp.Top, x)
	}
	if _, err := os.Stat(strings.TrimSuffix(file, ".cpu.pb.gz") + ".top.txt"); err != nil {
		t.Errorf("no text summary next to the profile: %v", err)
	}
}

//go:noinline
func spin(n int) int {
	s := 0
	for i := range n {
		s += i * i % 7
	}
	return s
}
