// Package surveyhttp is the customer's return-visit survey page: GET
// /survey/{token} shows the form (1 to 5 and a comment), POST records the
// answer. There is no login: the signed link is the credential, and the
// only thing it allows is answering its own survey, once. The page is one
// embedded HTML template and one style sheet, no scripts and nothing from
// elsewhere, in Chinese by default and in English by the link's language or
// ?lang=en; it is built for a phone.
package surveyhttp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
)

//go:embed assets/page.html assets/survey.css
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/page.html"))

// maxBody bounds a posted answer: a score and 500 characters fit many times.
const maxBody = 8 << 10

// maxInFlight bounds the answers handled at once by a replica; more get 503
// and the customer can send again.
const maxInFlight = 16

// Handler serves the page. Mount it at "/survey/".
type Handler struct {
	Surveys survey.Service
	// Now is the service's clock.
	Now func() time.Time
	Log *slog.Logger
	// Timeout bounds recording an answer (intake included); 10 s when zero.
	Timeout time.Duration

	slots chan struct{}
}

// New returns the page's handler.
func New(s survey.Service, now func() time.Time, log *slog.Logger) *Handler {
	return &Handler{Surveys: s, Now: now, Log: log, Timeout: 10 * time.Second, slots: make(chan struct{}, maxInFlight)}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.URL.Path == "/survey/assets/survey.css" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, assets, "assets/survey.css")
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/survey/")
	if !ok || token == "" || strings.Contains(token, "/") {
		h.message(w, r, http.StatusNotFound, langOf(r, ""), "invalid")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.open(w, r, token)
	case http.MethodPost:
		h.submit(w, r, token)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Handler) open(w http.ResponseWriter, r *http.Request, token string) {
	l, err := h.Surveys.Open(r.Context(), token, h.Now())
	lang := langOf(r, l.Language)
	if err != nil {
		h.refused(w, r, lang, l, err)
		return
	}
	h.form(w, lang, http.StatusOK, formData{})
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request, token string) {
	lang := langOf(r, "")
	if !sameOrigin(r) {
		h.message(w, r, http.StatusForbidden, lang, "crossOrigin")
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		h.message(w, r, http.StatusServiceUnavailable, lang, "busy")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusRequestEntityTooLarge, lang, "invalid")
		return
	}
	score, _ := strconv.Atoi(r.PostForm.Get("satisfaction"))
	a := survey.Answer{Satisfaction: score, Comment: r.PostForm.Get("comment")}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout())
	defer cancel()
	l, err := h.Surveys.Submit(ctx, token, a, h.Now())
	lang = langOf(r, l.Language)
	var fe *survey.FieldError
	switch {
	case errors.As(err, &fe):
		h.form(w, lang, http.StatusBadRequest, formData{Error: texts[lang].field(fe.Field), Score: score, Comment: a.Comment})
	case err != nil:
		h.refused(w, r, lang, l, err)
	default:
		h.Log.InfoContext(r.Context(), "survey answered", "survey_id", l.SurveyID, "case_id", l.CaseID, "tenant_id", l.TenantID,
			"satisfaction", score)
		h.message(w, r, http.StatusOK, lang, "thanks")
	}
}

func (h *Handler) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

// refused answers a link that cannot be answered now. What is logged names
// the survey, never the token or the answer.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, lang string, l survey.Link, err error) {
	code, kind := http.StatusServiceUnavailable, "busy"
	switch {
	case errors.Is(err, survey.ErrAnswered):
		code, kind = http.StatusConflict, "answered"
	case errors.Is(err, survey.ErrClosed):
		code, kind = http.StatusConflict, "reopened"
	case errors.Is(err, survey.ErrExpired):
		code, kind = http.StatusGone, "expired"
	case errors.Is(err, survey.ErrBadSignature), errors.Is(err, survey.ErrUnknownKey), errors.Is(err, survey.ErrNotFound):
		code, kind = http.StatusNotFound, "invalid"
	}
	level := slog.LevelInfo
	if code == http.StatusServiceUnavailable {
		level = slog.LevelWarn
	}
	h.Log.Log(r.Context(), level, "survey refused", "method", r.Method, "outcome", kind, "survey_id", l.SurveyID,
		"case_id", l.CaseID, "tenant_id", l.TenantID, "err", err)
	h.message(w, r, code, lang, kind)
}

// sameOrigin refuses a POST a browser says came from another site: the
// link is the credential, and another site must not answer for whoever
// holds it. Sec-Fetch-Site decides where the browser sends it; otherwise
// Origin must be this host. The page's no-referrer policy makes a browser
// send "Origin: null" with its own form, so null alone proves nothing.
// Clients that send neither header (no browser) are let through.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// langOf: ?lang= first, then the link's language, then Chinese.
func langOf(r *http.Request, linkLang string) string {
	for _, l := range []string{r.URL.Query().Get("lang"), linkLang} {
		switch strings.ToLower(strings.TrimSpace(l)) {
		case "en", "en-us", "en-gb":
			return "en"
		case "zh-cn", "zh":
			return "zh-CN"
		}
	}
	return "zh-CN"
}

type score struct {
	Value   int
	Label   string
	Checked bool
}

type formData struct {
	Error   string
	Score   int
	Comment string
}

type view struct {
	Lang, Other string
	T           text
	Form        bool
	Error       string
	Scores      []score
	Comment     string
	MaxComment  int
	Kind        string
	Message     string
}

func (h *Handler) form(w http.ResponseWriter, lang string, code int, f formData) {
	t := texts[lang]
	v := view{Lang: lang, Other: other(lang), T: t, Form: true, Error: f.Error, Comment: f.Comment, MaxComment: survey.MaxCommentRunes}
	for i, label := range t.Scale {
		v.Scores = append(v.Scores, score{Value: i + 1, Label: label, Checked: f.Score == i+1})
	}
	h.render(w, code, v)
}

func (h *Handler) message(w http.ResponseWriter, _ *http.Request, code int, lang, kind string) {
	t := texts[lang]
	v := view{Lang: lang, Other: other(lang), T: t, Kind: kind, Message: t.Messages[kind]}
	if kind == "thanks" {
		v.Kind = "done"
	}
	h.render(w, code, v)
}

func (h *Handler) render(w http.ResponseWriter, code int, v view) {
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		h.Log.Error("render survey page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func other(lang string) string {
	if lang == "en" {
		return "zh-CN"
	}
	return "en"
}
