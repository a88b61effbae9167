package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode"
)

// Template names a kind of message.
type Template string

// Templates.
const (
	// TemplateCaseAcknowledgment tells the customer the case was taken on,
	// under which number, and by when they will have an answer.
	TemplateCaseAcknowledgment Template = "case_acknowledgment"
	// TemplateCaseDateMoved tells the customer that the answer time they
	// were promised moved (a holiday schedule was published, the branch was
	// closed), from which date to which, and why.
	TemplateCaseDateMoved Template = "case_date_moved"
	// TemplateCaseAnswer gives the customer the bank's answer to their case.
	TemplateCaseAnswer Template = "case_answer"
)

// Language is a language messages are written in.
type Language string

// Languages with templates. Chinese is the default; English is for foreign
// customers.
const (
	LanguageZhCN Language = "zh-CN"
	LanguageEn   Language = "en"
)

// LanguageFor picks the template language for a customer's BCP 47 tag:
// English for any "en" tag, Chinese otherwise (including no tag).
func LanguageFor(tag string) Language {
	t := strings.ToLower(strings.TrimSpace(tag))
	if t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_") {
		return LanguageEn
	}
	return LanguageZhCN
}

// Content is what a message says about one case.
type Content struct {
	CaseNumber   string
	CustomerName string
	// ExpectedAnswerAt is shown in TimeZone.
	ExpectedAnswerAt time.Time
	TimeZone         string
	// Provisional makes the message call ExpectedAnswerAt expected and
	// subject to the official holiday schedule.
	Provisional bool
	// PreviousAnswerAt is the replaced date, which TemplateCaseDateMoved
	// requires; shown in TimeZone.
	PreviousAnswerAt time.Time
	// ChangeReason is why the date moved: ChangeCalendarYearLoaded,
	// ChangeBranchClosure, ChangeResumed, ChangeReopened, ChangeResumedAppraisal,
	// ChangeComplexity, ChangeBranch,
	// ChangeRegulatoryExtension, or anything else for a general calendar
	// change.
	ChangeReason string
	// Answer is the bank's answer, which TemplateCaseAnswer requires: text
	// staff wrote for this customer, kept as written (line breaks too).
	Answer string
	// SurveyURL is the signed link of the return-visit survey, which
	// TemplateCaseSurvey requires (minted at send time: notify.SurveyLinks).
	SurveyURL string
	// Level is the ladder level a case was handed to (TemplateCaseHandedOver),
	// told to the customer in words that name nobody.
	Level string
	// Late: the message goes out after ExpectedAnswerAt has passed (an
	// acknowledgment or a moved date held up by an outage); the wording
	// should say the bank is late rather than promise a time already gone.
	// Set by dispatch (Delivery.PromisePassed).
	Late bool
}

// Message is a rendered message: a one-line subject and a plain-text body,
// and for the channels that need them an HTML body (e-mail; every value in it
// escaped) and a short text (SMS, at most SMSMaxRunes).
type Message struct {
	Language Language
	Subject  string
	Body     string
	HTML     string
	SMS      string
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// Parsed is one template file, parsed for plain text and for HTML (the
// same source; in the HTML one every value is escaped where it lands).
type Parsed struct {
	text *template.Template
	html *htmltemplate.Template
}

// Parse parses a template source (a shipped file or a bank's own wording).
// Functions are Go's template builtins; a missing field is an error.
func Parse(name, source string) (Parsed, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(source)
	if err != nil {
		return Parsed{}, err
	}
	h, err := htmltemplate.New(name).Option("missingkey=error").Parse(source)
	if err != nil {
		return Parsed{}, err
	}
	return Parsed{text: t, html: h}, nil
}

// Defines reports whether p defines block name ("subject", "body", "sms").
func (p Parsed) Defines(name string) bool { return p.text.Lookup(name) != nil }

// shippedSources are the shipped template files by file name
// ("case_acknowledgment.zh-CN.tmpl").
var shippedSources = sync.OnceValues(func() (map[string]string, error) {
	files, err := fs.Glob(templateFS, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		b, err := templateFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[path.Base(f)] = string(b)
	}
	return out, nil
})

// parseTemplates parses each file on its own, because every file defines
// the same "subject" and "body" names.
var parseTemplates = sync.OnceValues(func() (map[string]Parsed, error) {
	src, err := shippedSources()
	if err != nil {
		return nil, err
	}
	out := make(map[string]Parsed, len(src))
	for name, s := range src {
		p, err := Parse(name, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
})

func shippedFile(t Template, lang Language) string { return fmt.Sprintf("%s.%s.tmpl", t, lang) }

// ShippedSource returns the shipped source of template t in lang.
func ShippedSource(t Template, lang Language) (string, bool) {
	src, err := shippedSources()
	if err != nil {
		return "", false
	}
	s, ok := src[shippedFile(t, lang)]
	return s, ok
}

// CustomerData is what a message to a customer may show. Case number and
// name come from intake as data: each stays on its one line, whatever line
// breaks it held, so it can neither add lines that read as ours nor break a
// header.
type CustomerData struct {
	CaseNumber, CustomerName, ExpectedAnswer, PreviousAnswer, Answer string
	Provisional, HolidaysPublished, BranchClosed, Later              bool
	Resumed, Reopened, Extended                                      bool
	AppraisalDone, Reclassified, BranchMoved                         bool
	// HandedTo names the level a case went to, in words naming nobody.
	HandedTo string
	// Late: the promised time passed before the message could go out.
	Late bool
	// SurveyURL is the return-visit survey's signed link (case_survey).
	SurveyURL string
}

// customerData checks c has what template t needs and returns what it shows.
func customerData(t Template, lang Language, c Content) (CustomerData, error) {
	when, err := FormatTime(c.ExpectedAnswerAt, c.TimeZone, lang)
	if err != nil {
		return CustomerData{}, err
	}
	var before string
	if t == TemplateCaseDateMoved {
		if c.PreviousAnswerAt.IsZero() {
			return CustomerData{}, fmt.Errorf("%s needs the previous answer time", t)
		}
		if before, err = FormatTime(c.PreviousAnswerAt, c.TimeZone, lang); err != nil {
			return CustomerData{}, err
		}
	}
	if t == TemplateCaseAnswer && strings.TrimSpace(c.Answer) == "" {
		return CustomerData{}, fmt.Errorf("%s needs the answer", t)
	}
	if t == TemplateCaseSurvey && c.SurveyURL == "" {
		return CustomerData{}, fmt.Errorf("%s needs the survey link", t)
	}
	return CustomerData{
		HandedTo:      handedTo(c.Level, lang),
		AppraisalDone: c.ChangeReason == ChangeResumedAppraisal, Reclassified: c.ChangeReason == ChangeComplexity,
		BranchMoved: c.ChangeReason == ChangeBranch,
		Resumed:     c.ChangeReason == ChangeResumed, Reopened: c.ChangeReason == ChangeReopened,
		Extended:   c.ChangeReason == ChangeRegulatoryExtension,
		Answer:     answerBody(c.Answer),
		CaseNumber: SingleLine(c.CaseNumber), CustomerName: SingleLine(c.CustomerName),
		ExpectedAnswer: when, PreviousAnswer: before, Provisional: c.Provisional,
		HolidaysPublished: c.ChangeReason == ChangeCalendarYearLoaded,
		BranchClosed:      c.ChangeReason == ChangeBranchClosure,
		Later:             !c.PreviousAnswerAt.IsZero() && c.ExpectedAnswerAt.After(c.PreviousAnswerAt),
		Late:              c.Late,
		SurveyURL:         c.SurveyURL,
	}, nil
}

func normLang(lang Language) Language {
	if lang != LanguageEn {
		return LanguageZhCN
	}
	return lang
}

// Render writes shipped template t in lang for c. Each template file
// defines a "subject" and a "body" (and an "sms"); the file for a language
// is "<template>.<lang>.tmpl".
func Render(t Template, lang Language, c Content) (Message, error) {
	lang = normLang(lang)
	data, err := customerData(t, lang, c)
	if err != nil {
		return Message{}, err
	}
	return execute(t, lang, data)
}

// execute runs shipped template t in lang on data.
func execute(t Template, lang Language, data any) (Message, error) {
	all, err := parseTemplates()
	if err != nil {
		return Message{}, fmt.Errorf("parse templates: %w", err)
	}
	tmpl, ok := all[shippedFile(t, lang)]
	if !ok {
		return Message{}, errTemplate(t, lang)
	}
	return executeTemplate(tmpl, t, lang, data)
}

// executeTemplate runs a parsed template file on data: its "subject" and
// "body" (as text and as escaped HTML), and its "sms" when it defines one.
func executeTemplate(tmpl Parsed, t Template, lang Language, data any) (Message, error) {
	var subject, body, html bytes.Buffer
	if err := tmpl.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("render %s subject in %s: %w", t, lang, err)
	}
	if err := tmpl.text.ExecuteTemplate(&body, "body", data); err != nil {
		return Message{}, fmt.Errorf("render %s body in %s: %w", t, lang, err)
	}
	if err := tmpl.html.ExecuteTemplate(&html, "body", data); err != nil {
		return Message{}, fmt.Errorf("render %s HTML body in %s: %w", t, lang, err)
	}
	m := Message{
		Language: lang,
		// A header line cannot carry line breaks, whatever the data held.
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Body:    strings.TrimLeft(body.String(), "\n"),
		HTML:    htmlPage(lang, strings.TrimLeft(html.String(), "\n")),
	}
	if tmpl.Defines("sms") {
		var sms bytes.Buffer
		if err := tmpl.text.ExecuteTemplate(&sms, "sms", data); err != nil {
			return Message{}, fmt.Errorf("render %s sms in %s: %w", t, lang, err)
		}
		m.SMS = SingleLine(sms.String())
	}
	return m, nil
}

// htmlPage wraps an escaped body: the text's own line breaks are kept
// (pre-wrap), nothing is loaded from anywhere.
func htmlPage(lang Language, escapedBody string) string {
	return `<!DOCTYPE html><html lang="` + string(lang) + `"><head><meta charset="utf-8"></head>` +
		`<body><div style="white-space:pre-wrap;font-family:sans-serif;font-size:15px;line-height:1.6">` +
		escapedBody + `</div></body></html>`
}

func handedTo(level string, lang Language) string {
	_, customer := LadderWords(level, lang)
	return customer
}

// SingleLine returns s on one line: every run of white space, line
// separators and control characters becomes one space, and the ends are
// trimmed. Use it on any text from outside that goes into a message or a
// header.
func SingleLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// FormatTime shows t in zone the way a customer reading lang expects:
// "2026年11月23日 17:00" in Chinese, "23 Nov 2026 17:00 (GMT+08:00)" in
// English, where the zone is less obvious to the reader.
func FormatTime(t time.Time, zone string, lang Language) (string, error) {
	if zone == "" {
		zone = DefaultTimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return "", fmt.Errorf("unknown time zone %q: %w", zone, err)
	}
	t = t.In(loc)
	// A limit that runs to the end of a day (the regulator's calendar days)
	// ends at 00:00 of the next: tell the customer "24:00" of the last day,
	// as the rules count it, not a day that is not theirs.
	clock := t.Format("15:04")
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		t, clock = t.Add(-time.Second), "24:00"
	}
	if lang == LanguageEn {
		return t.Format("2 Jan 2006 ") + clock + " (GMT" + t.Format("-07:00") + ")", nil
	}
	return t.Format("2006年1月2日 ") + clock, nil
}

// answerBody keeps the answer's lines but no control characters other
// than line breaks, and no trailing space.
func answerBody(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
