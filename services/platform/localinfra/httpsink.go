package localinfra

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The SMS sink and the webhook sink are small HTTP servers that play a
// bank's SMS gateway and a bank's own webhook receiver: each stores every
// message it accepts as one JSON file in a directory, named by the
// message's id, so the dev stack and tests can read exactly what would
// have reached a phone or the bank. Like the gateways they stand for,
// they keep the ids they saw: a resend of an id already stored is
// acknowledged and counted (Duplicates) but not stored twice.

// SMS is one message the SMS sink received.
type SMS struct {
	MessageID  string    `json:"messageId"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	Sender     string    `json:"sender,omitempty"`
	Language   string    `json:"language,omitempty"`
	ReceivedAt time.Time `json:"receivedAt"`
	Path       string    `json:"-"`
}

// Hook is one request the webhook sink received: its path, the headers a
// receiver checks, and the body exactly as sent.
type Hook struct {
	ID         string            `json:"id"`
	Path       string            `json:"path"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	ReceivedAt time.Time         `json:"receivedAt"`
	File       string            `json:"-"`
}

// HTTPSink is a running SMS or webhook sink.
type HTTPSink struct {
	dir        string
	ln         net.Listener
	srv        *http.Server
	done       chan struct{}
	token      string
	failStatus atomic.Int32
	dups       atomic.Int64
	mu         sync.Mutex // serialises stores
}

var sinkID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// StartSMSSink listens on addr ("127.0.0.1:0" for a free port) and stores
// each accepted message (a JSON POST {"messageId", "to", "text", …} on any
// path) as dir/<messageId>.json. With token set, a request must carry
// "Authorization: Bearer <token>" (401 otherwise).
func StartSMSSink(dir, addr, token string) (*HTTPSink, error) {
	return startHTTPSink(dir, addr, token, func(r *http.Request, body []byte) (string, any, int, string) {
		var m SMS
		if err := json.Unmarshal(body, &m); err != nil {
			return "", nil, http.StatusBadRequest, "body is not JSON"
		}
		if m.MessageID == "" {
			m.MessageID = r.Header.Get("Idempotency-Key")
		}
		switch {
		case !sinkID.MatchString(m.MessageID):
			return "", nil, http.StatusBadRequest, "messageId: want 1-128 of A-Z a-z 0-9 . _ -"
		case strings.TrimSpace(m.To) == "":
			return "", nil, http.StatusBadRequest, "to: required"
		case m.Text == "":
			return "", nil, http.StatusBadRequest, "text: required"
		}
		m.ReceivedAt = time.Now().UTC() //nolint:forbidigo // the sink records when it received
		return m.MessageID, m, 0, ""
	})
}

// StartWebhookSink listens on addr and stores each POST as
// dir/<X-Counterdesk-Delivery>.json (a Hook). It checks nothing about the
// signature: that is the receiver's recipe, which tests apply to what it
// stored.
func StartWebhookSink(dir, addr string) (*HTTPSink, error) {
	return startHTTPSink(dir, addr, "", func(r *http.Request, body []byte) (string, any, int, string) {
		id := r.Header.Get("X-Counterdesk-Delivery")
		if !sinkID.MatchString(id) {
			return "", nil, http.StatusBadRequest, "X-Counterdesk-Delivery: want 1-128 of A-Z a-z 0-9 . _ -"
		}
		h := Hook{ID: id, Path: r.URL.Path, Body: string(body), Headers: map[string]string{},
			ReceivedAt: time.Now().UTC()} //nolint:forbidigo // the sink records when it received
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Counterdesk-") || k == "Content-Type" {
				h.Headers[k] = strings.Join(v, ",")
			}
		}
		return id, h, 0, ""
	})
}

type sinkParse func(r *http.Request, body []byte) (id string, record any, status int, problem string)

func startHTTPSink(dir, addr, token string, parse sinkParse) (*HTTPSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localinfra: create sink dir: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localinfra: sink listen on %s: %w", addr, err)
	}
	s := &HTTPSink{dir: dir, ln: ln, done: make(chan struct{}), token: token}
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handle(w, r, parse)
	})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *HTTPSink) handle(w http.ResponseWriter, r *http.Request, parse sinkParse) {
	reply := func(status int, v map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost {
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
		return
	}
	if st := s.failStatus.Load(); st != 0 {
		reply(int(st), map[string]string{"error": "failing on purpose"})
		return
	}
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		reply(http.StatusUnauthorized, map[string]string{"error": "missing or wrong credential"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		reply(http.StatusBadRequest, map[string]string{"error": "cannot read body"})
		return
	}
	id, rec, status, problem := parse(r, body)
	if status != 0 {
		reply(status, map[string]string{"error": problem})
		return
	}
	stored, err := s.store(id, rec)
	if err != nil {
		reply(http.StatusServiceUnavailable, map[string]string{"error": "cannot store"})
		return
	}
	if !stored {
		s.dups.Add(1)
		reply(http.StatusOK, map[string]string{"id": id, "status": "duplicate"})
		return
	}
	reply(http.StatusAccepted, map[string]string{"id": id, "status": "accepted"})
}

// store writes rec as <id>.json unless it exists: a temp file linked into
// place, so a reader never sees half a message and two racing requests of
// one id store one file.
func (s *HTTPSink) store(id string, rec any) (bool, error) {
	raw, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	final := filepath.Join(s.dir, id+".json")
	tmp := filepath.Join(s.dir, "."+id+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Addr is "127.0.0.1:port".
func (s *HTTPSink) Addr() string { return s.ln.Addr().String() }

// URL is "http://127.0.0.1:port".
func (s *HTTPSink) URL() string { return "http://" + s.Addr() }

// Dir is where messages are written.
func (s *HTTPSink) Dir() string { return s.dir }

// Duplicates is how many resends of an id already stored were acknowledged.
func (s *HTTPSink) Duplicates() int64 { return s.dups.Load() }

// FailWith makes every request fail with status until FailWith(0), as a
// gateway that is down would.
func (s *HTTPSink) FailWith(status int) { s.failStatus.Store(int32(status)) }

// Close stops listening.
func (s *HTTPSink) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("localinfra: close sink: %w", err)
	}
	return nil
}

func readSinkFiles[T any](dir string, at func(T) time.Time, set func(*T, string)) ([]T, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("localinfra: read sink dir: %w", err)
	}
	var out []T
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("localinfra: read %s: %w", p, err)
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("localinfra: parse %s: %w", p, err)
		}
		set(&v, p)
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return at(out[i]).Before(at(out[j])) })
	return out, nil
}

// ReadSMS reads every message stored in dir, oldest first.
func ReadSMS(dir string) ([]SMS, error) {
	return readSinkFiles(dir, func(m SMS) time.Time { return m.ReceivedAt }, func(m *SMS, p string) { m.Path = p })
}

// ReadHooks reads every hook stored in dir, oldest first.
func ReadHooks(dir string) ([]Hook, error) {
	return readSinkFiles(dir, func(h Hook) time.Time { return h.ReceivedAt }, func(h *Hook, p string) { h.File = p })
}
