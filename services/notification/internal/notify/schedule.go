package notify

import "time"

// MaxAttempts is how often a delivery is tried before it is failed for good.
const MaxAttempts = 10

// Backoff bounds: the first retry comes after BackoffBase, each later one
// waits twice as long, never more than BackoffCap.
const (
	BackoffBase = time.Second
	BackoffCap  = 5 * time.Minute
)

// Backoff is the wait after the given number of failed attempts (1 → 1s,
// 2 → 2s, 3 → 4s, …, capped at 5 minutes). Retries are not jittered: they
// are spread already by when each case was armed.
func Backoff(failedAttempts int) time.Duration {
	if failedAttempts < 1 {
		return 0
	}
	d := BackoffBase
	for i := 1; i < failedAttempts; i++ {
		d *= 2
		if d >= BackoffCap {
			return BackoffCap
		}
	}
	return d
}
