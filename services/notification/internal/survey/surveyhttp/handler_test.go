package surveyhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveyhttp"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveypg"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

const (
	tenant   = "bank-a"
	caseID   = "0190d6a4-6b59-7000-8000-000000000001"
	surveyID = "0190d6a4-6b59-7000-8000-0000000000ff"
	comment  = "柜员很耐心，我的电话13812345678"
)

var closedAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// recorder stands in for intake's RecordReturnVisit.
type recorder struct {
	mu  sync.Mutex
	got []survey.Answer
	// refuse: intake's answer instead of recording (e.g. survey.ErrClosed).
	refuse error
}

func (r *recorder) RecordReturnVisit(_ context.Context, _, _ string, a survey.Answer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != nil {
		return r.refuse
	}
	r.got = append(r.got, a)
	return nil
}

type page struct {
	srv   *httptest.Server
	rec   *recorder
	now   time.Time
	keys  survey.Keys
	logs  *bytes.Buffer
	token string
}

func newPage(t *testing.T) *page {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), `INSERT INTO deliveries (id, tenant_id, case_id, channel, template, status,
		expected_answer_at, time_zone, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, 'email', 'case_survey', 'PENDING', $4, 'Asia/Shanghai', $4, $4, $4)`, surveyID, tenant, caseID, closedAt); err != nil {
		t.Fatal(err)
	}
	p := &page{rec: &recorder{}, now: closedAt.Add(time.Hour), logs: &bytes.Buffer{},
		keys: survey.NewKeys(survey.Key{TenantID: tenant, ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})}
	links := survey.Links{Keys: p.keys, BaseURL: "http://example", Now: func() time.Time { return p.now }}
	link, err := links.SurveyURL(deliveryFor(), "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	p.token = strings.TrimPrefix(link, "http://example/survey/")
	h := surveyhttp.New(survey.Service{Keys: p.keys, Store: surveypg.New(pool), Recorder: p.rec},
		func() time.Time { return p.now }, slog.New(slog.NewJSONHandler(p.logs, nil)))
	mux := http.NewServeMux()
	mux.Handle("/survey/", h)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *page) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *page) post(t *testing.T, path string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTheSurveyPageTakesOneAnswerThroughItsLink(t *testing.T) {
	p := newPage(t)
	path := "/survey/" + p.token

	code, body := p.get(t, path)
	if code != http.StatusOK || !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, "服务回访") ||
		strings.Count(body, `name="satisfaction"`) != 5 || !strings.Contains(body, `maxlength="500"`) {
		t.Fatalf("GET %d:\n%s", code, body)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "<script") {
		t.Error("the page loads something from elsewhere or runs a script")
	}
	if _, en := p.get(t, path+"?lang=en"); !strings.Contains(en, "How did we do?") || !strings.Contains(en, `lang="en"`) {
		t.Errorf("?lang=en:\n%s", en)
	}

	form := url.Values{"satisfaction": {"4"}, "comment": {comment}}
	if code, _ := p.post(t, path, form, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d, want 403", code)
	}
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST with Origin null: %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, body := p.post(t, path, url.Values{"satisfaction": {"0"}, "comment": {comment}}, p.srv.URL); code != http.StatusBadRequest ||
		!strings.Contains(body, "请选择 1 到 5 分") || !strings.Contains(body, "柜员很耐心") {
		t.Errorf("score 0: %d, want 400 with the form kept:\n%s", code, body)
	}
	if code, _ := p.post(t, path, url.Values{"satisfaction": {"3"}, "comment": {strings.Repeat("长", 501)}}, ""); code != http.StatusBadRequest {
		t.Errorf("a 501-character comment: %d, want 400", code)
	}
	if code, _ := p.post(t, path, url.Values{"satisfaction": {"3"}, "comment": {strings.Repeat("x", 10000)}}, ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 10 KB body: %d, want 413", code)
	}
	if len(p.rec.got) != 0 {
		t.Fatalf("refused answers reached intake: %d", len(p.rec.got))
	}

	code, body = p.post(t, path, form, p.srv.URL)
	if code != http.StatusOK || !strings.Contains(body, "感谢您的评价") {
		t.Fatalf("answer: %d\n%s", code, body)
	}
	if len(p.rec.got) != 1 || p.rec.got[0].Satisfaction != 4 || p.rec.got[0].Comment != comment {
		t.Fatalf("intake got %+v", p.rec.got)
	}
	if code, body := p.post(t, path, form, p.srv.URL); code != http.StatusConflict || !strings.Contains(body, "已提交过评价") {
		t.Errorf("second answer: %d, want 409:\n%s", code, body)
	}
	if code, _ := p.get(t, path); code != http.StatusConflict {
		t.Errorf("opening an answered survey: %d, want 409", code)
	}
	if len(p.rec.got) != 1 {
		t.Errorf("intake got %d answers, want 1", len(p.rec.got))
	}
	if logs := p.logs.String(); strings.Contains(logs, "柜员很耐心") || strings.Contains(logs, "13812345678") || strings.Contains(logs, p.token) {
		t.Errorf("the log holds the comment or the link:\n%s", logs)
	}
}

func TestALinkThatIsExpiredTamperedOrUnknownIsRefused(t *testing.T) {
	p := newPage(t)
	parts := strings.Split(p.token, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	if code, body := p.get(t, "/survey/"+tampered); code != http.StatusNotFound || !strings.Contains(body, "链接无效") {
		t.Errorf("tampered: %d\n%s", code, body)
	}
	if code, _ := p.post(t, "/survey/"+tampered, url.Values{"satisfaction": {"5"}}, ""); code != http.StatusNotFound {
		t.Errorf("tampered POST: %d, want 404", code)
	}
	other := survey.NewKeys(survey.Key{TenantID: tenant, ID: "k1", Secret: bytes.Repeat([]byte{8}, 32)})
	forged, err := other.Issue(survey.Link{TenantID: tenant, CaseID: caseID, SurveyID: surveyID, ExpiresAt: closedAt.Add(time.Hour * 24)}, closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := p.get(t, "/survey/"+forged); code != http.StatusNotFound {
		t.Errorf("signed with another secret: %d, want 404", code)
	}
	noSuch, err := p.keys.Issue(survey.Link{TenantID: tenant, CaseID: caseID, SurveyID: "0190d6a4-6b59-7000-8000-0000000000aa",
		ExpiresAt: closedAt.Add(time.Hour * 24)}, closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := p.get(t, "/survey/"+noSuch); code != http.StatusNotFound {
		t.Errorf("a survey never sent: %d, want 404", code)
	}
	p.now = closedAt.Add(survey.DefaultLifetime)
	if code, body := p.get(t, "/survey/"+p.token+"?lang=en"); code != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("expired: %d\n%s", code, body)
	}
	if code, _ := p.post(t, "/survey/"+p.token, url.Values{"satisfaction": {"5"}}, ""); code != http.StatusGone {
		t.Errorf("expired POST: %d, want 410", code)
	}
	if len(p.rec.got) != 0 {
		t.Errorf("refused links reached intake: %d", len(p.rec.got))
	}
}

func deliveryFor() notify.Delivery {
	return notify.Delivery{ID: surveyID, TenantID: tenant, CaseID: caseID, Template: notify.TemplateCaseSurvey, ExpectedAnswerAt: closedAt}
}

// A case reopened since the survey was sent takes no answer (intake refuses
// it); the link stays unanswered, and an intake outage lets the customer
// try again.
func TestAnAnswerIntakeRefusesIsNotKept(t *testing.T) {
	p := newPage(t)
	path := "/survey/" + p.token
	form := url.Values{"satisfaction": {"2"}, "comment": {comment}}
	p.rec.refuse = survey.ErrClosed
	if code, body := p.post(t, path, form, ""); code != http.StatusConflict || !strings.Contains(body, "重新受理") {
		t.Fatalf("answer to a reopened case: %d, want 409 saying it was reopened:\n%s", code, body)
	}
	p.rec.refuse = errors.New("intake RecordReturnVisit for case x: Unavailable")
	if code, body := p.post(t, path, form, ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "稍后再试") {
		t.Fatalf("intake down: %d, want 503 asking to try again:\n%s", code, body)
	}
	p.rec.refuse = nil
	if code, _ := p.get(t, path); code != http.StatusOK {
		t.Fatalf("after refused answers the survey is %d, want still open (200)", code)
	}
	if code, _ := p.post(t, path, form, ""); code != http.StatusOK || len(p.rec.got) != 1 {
		t.Fatalf("answer once intake takes it: %d, %d recorded", code, len(p.rec.got))
	}
}
