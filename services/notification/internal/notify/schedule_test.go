package notify

import (
	"testing"
	"time"
)

func TestBackoffDoublesFromOneSecondUpToFiveMinutes(t *testing.T) {
	tests := []struct {
		failed int
		want   time.Duration
	}{
		{0, 0},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute},
		{50, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := Backoff(tt.failed); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.failed, got, tt.want)
		}
	}
}
