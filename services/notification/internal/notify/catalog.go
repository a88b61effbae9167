package notify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Audience is whom a template writes to.
type Audience string

// Audiences.
const (
	AudienceCustomer Audience = "customer"
	AudienceStaff    Audience = "staff"
)

// Channels a template may be kept for.
var TemplateChannels = []Channel{ChannelEmail, ChannelSMS, ChannelWebhook}

// Languages templates are shipped in.
var Languages = []Language{LanguageZhCN, LanguageEn}

// TemplateKey names one wording: a template on a channel in a language.
type TemplateKey struct {
	Template Template
	Channel  Channel
	Language Language
}

func (k TemplateKey) String() string {
	return fmt.Sprintf("%s/%s/%s", k.Template, k.Channel, k.Language)
}

// AudienceOf is whom template t writes to: staff templates are named
// "staff_…", the others write to the customer.
func AudienceOf(t Template) Audience {
	if strings.HasPrefix(string(t), "staff_") {
		return AudienceStaff
	}
	return AudienceCustomer
}

// ShippedTemplates lists every template shipped, sorted.
func ShippedTemplates() []Template {
	src, err := shippedSources()
	if err != nil {
		return nil
	}
	seen := map[Template]bool{}
	for name := range src {
		t := Template(strings.SplitN(name, ".", 2)[0])
		seen[t] = true
	}
	out := make([]Template, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// IsShipped reports whether t is a template counterdesk ships.
func IsShipped(t Template) bool { return slices.Contains(ShippedTemplates(), t) }

// FieldsOf lists the data fields templates for audience a may use, as they
// are written in a template (".CaseNumber").
func FieldsOf(a Audience, t Template) []string {
	var v any = CustomerData{}
	if a == AudienceStaff {
		v = StaffAlertData{}
		if isStaffNotice(t) {
			v = StaffNoticeData{}
		}
		if isRectification(t) {
			v = StaffRectificationData{}
		}
	}
	rt := reflect.TypeOf(v)
	out := make([]string, 0, rt.NumField())
	for i := range rt.NumField() {
		out = append(out, "."+rt.Field(i).Name)
	}
	sort.Strings(out)
	return out
}

// SampleContent is the sample case a customer template is previewed and
// checked with: every value at a realistic length.
func SampleContent(t Template) Content {
	c := Content{
		CaseNumber: "CD-20261122-000042", CustomerName: "欧阳明月",
		ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), TimeZone: DefaultTimeZone,
		Answer: "经核查，柜员在办理汇款时将收款账号录错一位，款项已于今日重新汇出，手续费已退回。给您带来不便，深表歉意。",
		Level:  "branch_head",
	}
	if t == TemplateCaseDateMoved {
		c.PreviousAnswerAt = c.ExpectedAnswerAt.Add(-72 * time.Hour)
		c.ChangeReason = ChangeBranchClosure
	}
	if t == TemplateCaseSurvey { // a link of the length survey.Links mints
		c.SurveyURL = "https://counterdesk.bank.example/survey/eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlbW8tYmFuay9rMSJ9." +
			"AQGQ1qRrWXAAgAAAAAAAAAEBkNaka1lwAIAAAAAAAAD_AAAAAGsWg6ABZGVtby1iYW5r.ID6NFFMAwiSDomQywteLOAGgaOFT8ebfNCBbCGss7VQ"
	}
	return c
}

// SampleStaffDelivery is the sample staff message a staff template is
// previewed and checked with.
func SampleStaffDelivery(t Template) Delivery {
	d := Delivery{
		ID: "00000000-0000-7000-8000-000000000000", CaseID: "00000000-0000-7000-8000-000000000001", Template: t,
		CaseNumber: "CD-20261122-000042", ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		TimeZone: DefaultTimeZone, DeadlineKind: KindFirstAnswer, AlertLevel: LevelOrange,
		Staff: StaffRecipient{ID: "bh-1", Name: "王建国", Audience: AudienceOwner},
	}
	if isStaffNotice(t) {
		d.ChangeReason, d.AlertLevel, d.DeadlineKind = "escalate", "branch_head", ""
	}
	if t == TemplateStaffDeadlineBreached {
		d.AlertLevel = ""
	}
	if isRectification(t) {
		d.CaseNumber, d.ChangeReason, d.AlertLevel, d.DeadlineKind = "0194f0c1-0000-7000-8000-00000000a001", ReminderOverdue, "", ""
		d.ExpectedAnswerAt = time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC) // 24:00 of 30 November, Shanghai
		if t == TemplateStaffRectificationIssued {
			d.ChangeReason = ReminderIssued
		}
	}
	return d
}

// ErrInvalidTemplate is a bank's template source that cannot be kept; its
// message says why, naming the line where the parser does.
var ErrInvalidTemplate = errors.New("invalid template")

// blocksFor are the blocks a wording on ch must define.
func blocksFor(ch Channel) []string {
	if ch == ChannelSMS {
		return []string{"sms"}
	}
	return []string{"subject", "body"}
}

// CheckSource checks a bank's wording of k before it is kept: it parses,
// defines the blocks the channel needs, renders the sample case, and an
// SMS fits in SMSMaxRunes. It returns the sample rendering.
func CheckSource(k TemplateKey, source string) (Message, error) {
	if !IsShipped(k.Template) {
		return Message{}, fmt.Errorf("%w: template %q is not one counterdesk sends", ErrInvalidTemplate, k.Template)
	}
	p, err := Parse(k.String(), source)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %s", ErrInvalidTemplate, err.Error())
	}
	var missing []string
	for _, b := range blocksFor(k.Channel) {
		if !p.Defines(b) {
			missing = append(missing, fmt.Sprintf("{{define %q}}", b))
		}
	}
	if len(missing) > 0 {
		return Message{}, fmt.Errorf("%w: a %s template must define %s", ErrInvalidTemplate, k.Channel, strings.Join(missing, " and "))
	}
	m, err := renderParsed(p, k, sampleData(k))
	if err != nil {
		return Message{}, fmt.Errorf("%w: with the sample case: %s", ErrInvalidTemplate, err.Error())
	}
	if k.Channel != ChannelSMS && strings.TrimSpace(m.Subject) == "" {
		return Message{}, fmt.Errorf("%w: the subject renders empty", ErrInvalidTemplate)
	}
	if k.Channel == ChannelSMS {
		if strings.TrimSpace(m.SMS) == "" {
			return Message{}, fmt.Errorf("%w: the SMS renders empty", ErrInvalidTemplate)
		}
		if n := utf8.RuneCountInString(m.SMS); n > SMSMaxRunes {
			return Message{}, fmt.Errorf("%w: the SMS is %d characters with the sample case; at most %d", ErrInvalidTemplate, n, SMSMaxRunes)
		}
	}
	return m, nil
}

func sampleData(k TemplateKey) func(Language) (any, error) {
	return func(lang Language) (any, error) {
		if AudienceOf(k.Template) == AudienceStaff {
			return staffData(SampleStaffDelivery(k.Template), lang)
		}
		return customerData(k.Template, lang, SampleContent(k.Template))
	}
}

// renderParsed renders p for k with the data data gives for k's language.
func renderParsed(p Parsed, k TemplateKey, data func(Language) (any, error)) (Message, error) {
	lang := normLang(k.Language)
	v, err := data(lang)
	if err != nil {
		return Message{}, err
	}
	if k.Channel == ChannelSMS && !p.Defines("body") {
		// A bank's SMS wording may be the "sms" block alone.
		var sms strings.Builder
		if err := p.text.ExecuteTemplate(&sms, "sms", v); err != nil {
			return Message{}, fmt.Errorf("render %s sms: %w", k, err)
		}
		return Message{Language: lang, SMS: SingleLine(sms.String())}, nil
	}
	m, err := executeTemplate(p, k.Template, lang, v)
	if err != nil {
		return Message{}, err
	}
	return forChannel(m, k.Channel), nil
}

// SMSParts is how many SMS a text takes: one of 70 characters, or parts of
// 67 when joined (UCS-2, which any Chinese text needs).
func SMSParts(text string) int {
	n := utf8.RuneCountInString(text)
	switch {
	case n == 0:
		return 0
	case n <= 70:
		return 1
	default:
		return (n + 66) / 67
	}
}

// BankTemplate is a bank's own wording of one template.
type BankTemplate struct {
	Key       TemplateKey
	Source    string
	UpdatedBy string
	UpdatedAt time.Time
}

// TemplateStore keeps banks' own wordings.
type TemplateStore interface {
	// BankTemplate returns tenantID's wording of k, or false.
	BankTemplate(ctx context.Context, tenantID string, k TemplateKey) (BankTemplate, bool, error)
}

// BankRenderer renders with a bank's own wording where it keeps one and the
// shipped one otherwise. Wordings are cached for CacheFor (30 s by
// default): a changed wording is sent within that time by every replica,
// at once by the one that changed it (Forget).
type BankRenderer struct {
	Store    TemplateStore
	CacheFor time.Duration
	// Now is the clock of the cache; time.Now by default.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedTemplate
}

type cachedTemplate struct {
	parsed Parsed
	found  bool
	until  time.Time
}

var _ Renderer = (*BankRenderer)(nil)

// Forget drops what is cached of tenantID's wording of k.
func (b *BankRenderer) Forget(tenantID string, k TemplateKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cache, tenantID+"\x00"+k.String())
}

func (b *BankRenderer) lookup(ctx context.Context, tenantID string, k TemplateKey) (Parsed, bool, error) {
	now := time.Now //nolint:forbidigo // the default clock of a cache
	if b.Now != nil {
		now = b.Now
	}
	ttl := b.CacheFor
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	key := tenantID + "\x00" + k.String()
	b.mu.Lock()
	c, ok := b.cache[key]
	b.mu.Unlock()
	if ok && now().Before(c.until) {
		return c.parsed, c.found, nil
	}
	bt, found, err := b.Store.BankTemplate(ctx, tenantID, k)
	if err != nil {
		return Parsed{}, false, fmt.Errorf("read the bank's template %s: %w", k, err)
	}
	var p Parsed
	if found {
		if p, err = Parse(k.String(), bt.Source); err != nil {
			// Checked when kept; a wording that no longer parses (a
			// field renamed since) falls back to the shipped one.
			found = false
		}
	}
	b.mu.Lock()
	if b.cache == nil {
		b.cache = map[string]cachedTemplate{}
	}
	b.cache[key] = cachedTemplate{parsed: p, found: found, until: now().Add(ttl)}
	b.mu.Unlock()
	return p, found, nil
}

// Render implements Renderer.
func (b *BankRenderer) Render(ctx context.Context, tenantID string, ch Channel, t Template, lang Language, c Content) (Message, error) {
	k := TemplateKey{Template: t, Channel: ch, Language: normLang(lang)}
	p, found, err := b.lookup(ctx, tenantID, k)
	if err != nil {
		return Message{}, err
	}
	if !found {
		return Shipped{}.Render(ctx, tenantID, ch, t, lang, c)
	}
	m, err := renderParsed(p, k, func(l Language) (any, error) { return customerData(t, l, c) })
	if err != nil {
		return Shipped{}.Render(ctx, tenantID, ch, t, lang, c)
	}
	return m, nil
}

// RenderStaff implements Renderer.
func (b *BankRenderer) RenderStaff(ctx context.Context, tenantID string, ch Channel, d Delivery, lang Language) (Message, error) {
	k := TemplateKey{Template: d.Template, Channel: ch, Language: normLang(lang)}
	p, found, err := b.lookup(ctx, tenantID, k)
	if err != nil {
		return Message{}, err
	}
	if !found {
		return Shipped{}.RenderStaff(ctx, tenantID, ch, d, lang)
	}
	m, err := renderParsed(p, k, func(l Language) (any, error) { return staffData(d, l) })
	if err != nil {
		return Shipped{}.RenderStaff(ctx, tenantID, ch, d, lang)
	}
	return m, nil
}

// Preview renders k with the sample case: source when given, else the
// bank's wording found by store (nil: the shipped one). It reports whether
// the bank's own wording was used.
func Preview(ctx context.Context, store TemplateStore, tenantID string, k TemplateKey, source string) (Message, bool, error) {
	if source != "" {
		m, err := CheckSource(k, source)
		return m, true, err
	}
	if !IsShipped(k.Template) {
		return Message{}, false, fmt.Errorf("%w: template %q is not one counterdesk sends", ErrInvalidTemplate, k.Template)
	}
	if store != nil {
		bt, found, err := store.BankTemplate(ctx, tenantID, k)
		if err != nil {
			return Message{}, false, err
		}
		if found {
			m, err := CheckSource(k, bt.Source)
			return m, true, err
		}
	}
	src, ok := ShippedSource(k.Template, normLang(k.Language))
	if !ok {
		return Message{}, false, errTemplate(k.Template, k.Language)
	}
	p, err := Parse(k.String(), src)
	if err != nil {
		return Message{}, false, err
	}
	m, err := renderParsed(p, k, sampleData(k))
	return m, false, err
}
