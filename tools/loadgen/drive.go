package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pacer spaces an open-loop run: request i is due at start + i/rate,
// whatever became of the requests before it, so a slow answer does not
// slow the offered load (no coordinated omission).
type pacer struct {
	start time.Time
	rate  float64 // requests per second; > 0
}

// due is when request i is to be sent.
func (p pacer) due(i int) time.Time {
	return p.start.Add(time.Duration(float64(i) * float64(time.Second) / p.rate))
}

// countFor is how many requests an open-loop run at rate for d sends.
func countFor(rate float64, d time.Duration) int {
	return int(rate*d.Seconds() + 0.5)
}

// ticket is one request to send: its index and when it was meant to go.
type ticket struct {
	i   int
	due time.Time
}

// outcome is what one request came to.
type outcome struct {
	i       int
	id      string    // the case id ("" on error)
	sent    time.Time // when it was sent
	due     time.Time // when it was meant to be sent (open loop; = sent in a closed loop)
	done    time.Time // when its answer arrived
	err     error
	latency time.Duration // done − due in an open loop, done − sent in a closed one
}

// driveConfig says how to send n requests.
type driveConfig struct {
	n           int
	concurrency int
	rate        float64 // 0: closed loop, each client sends its next request when the previous one is answered
}

// drive sends cfg.n requests with cfg.concurrency clients and hands each
// outcome to onDone (from the client goroutines, concurrently) as it
// arrives. It returns when every request was answered or ctx ended.
func drive(ctx context.Context, cfg driveConfig, send func(ctx context.Context, i int) (string, error), onDone func(outcome)) {
	tickets := make(chan ticket)
	go func() {
		defer close(tickets)
		p := pacer{start: time.Now(), rate: cfg.rate}
		for i := range cfg.n {
			t := ticket{i: i}
			if cfg.rate > 0 {
				t.due = p.due(i)
				if wait := time.Until(t.due); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case tickets <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range max(1, cfg.concurrency) {
		wg.Go(func() {
			for t := range tickets {
				o := outcome{i: t.i, sent: time.Now()}
				o.due = t.due
				if o.due.IsZero() {
					o.due = o.sent
				}
				o.id, o.err = send(ctx, t.i)
				o.done = time.Now()
				o.latency = o.done.Sub(o.due)
				onDone(o)
			}
		})
	}
	wg.Wait()
}

// progress draws a one-line progress bar on a terminal; on anything else
// (a pipe, a file, CI) it draws nothing.
type progress struct {
	w     io.Writer
	total int
	done  atomic.Int64
	errs  atomic.Int64
	start time.Time
	extra func() string // more to show after the counts, or nil
	stop  chan struct{}
	wg    sync.WaitGroup
}

// isTerminal reports whether w is a file that is a character device (a
// terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clearLine is what erases the progress bar's line on w: nothing unless w
// is a terminal.
func clearLine(w io.Writer) string {
	if isTerminal(w) {
		return "\r\033[K"
	}
	return ""
}

// newProgress starts a progress bar on w when w is a terminal; otherwise it
// returns a bar that only counts.
func newProgress(w io.Writer, total int, extra func() string) *progress {
	p := &progress{total: total, start: time.Now(), extra: extra, stop: make(chan struct{})}
	if isTerminal(w) {
		p.w = w
		p.wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.draw()
				}
			}
		})
	}
	return p
}

func (p *progress) add(err error) {
	p.done.Add(1)
	if err != nil {
		p.errs.Add(1)
	}
}

func (p *progress) draw() {
	done := int(p.done.Load())
	fmt.Fprintf(p.w, "\r\033[K%s", renderBar(done, p.total, 30, time.Since(p.start), int(p.errs.Load())))
	if p.extra != nil {
		fmt.Fprint(p.w, "  ", p.extra())
	}
}

// finish stops the bar and clears its line.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// renderBar is the bar's text: [=====>    ] done/total rate/s errors.
func renderBar(done, total, width int, elapsed time.Duration, errs int) string {
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("[%s] %d/%d  %.0f/s  %d errors", bar, done, total, perSecond(done, elapsed), errs)
}
