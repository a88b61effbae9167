package notifygrpc

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/answers"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TemplateStore keeps banks' own wordings.
type TemplateStore interface {
	notify.TemplateStore
	BankTemplates(ctx context.Context, tenantID string) ([]notify.BankTemplate, error)
	PutBankTemplate(ctx context.Context, tenantID string, t notify.BankTemplate) error
	DeleteBankTemplate(ctx context.Context, tenantID string, k notify.TemplateKey) (bool, error)
}

// TemplateServer implements MessageTemplateService.
type TemplateServer struct {
	notificationv1.UnimplementedMessageTemplateServiceServer
	Store   TemplateStore
	Answers answers.Service
	// Renderer, when set, forgets a changed wording at once (this
	// replica; others within its cache time).
	Renderer *notify.BankRenderer
	// Rules keeps the banks' notification rules; Forget drops this
	// replica's cached copy of a bank's rules when they change.
	Rules  RuleStore
	Forget func(tenantID string)
	Now    func() time.Time
}

// RuleStore keeps banks' notification rules.
type RuleStore interface {
	Rules(ctx context.Context, tenantID string) (notify.Rules, error)
	PutRules(ctx context.Context, tenantID string, rules []notify.Rule, by string, at time.Time) error
}

func (s *TemplateServer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now() //nolint:forbidigo // the default clock; the service passes its own
}

// Categories are the case categories a standard answer may be for.
func Categories() []string {
	var out []string
	for n, v := range casesv1.Category_value {
		if v != 0 {
			out = append(out, n)
		}
	}
	return out
}

func templateKey(t, ch, lang string) notify.TemplateKey {
	return notify.TemplateKey{Template: notify.Template(t), Channel: notify.Channel(ch), Language: notify.Language(lang)}
}

func templateProto(k notify.TemplateKey, source string, bank *notify.BankTemplate) *notificationv1.MessageTemplate {
	m := &notificationv1.MessageTemplate{Template: string(k.Template), Channel: string(k.Channel), Language: string(k.Language),
		Source: source, Origin: notificationv1.Origin_ORIGIN_SHIPPED, Audience: notificationv1.Audience_AUDIENCE_CUSTOMER}
	if notify.AudienceOf(k.Template) == notify.AudienceStaff {
		m.Audience = notificationv1.Audience_AUDIENCE_STAFF
	}
	m.Fields = notify.FieldsOf(notify.AudienceOf(k.Template), k.Template)
	if bank != nil {
		m.Source, m.Origin, m.UpdatedBy, m.UpdatedAt = bank.Source, notificationv1.Origin_ORIGIN_BANK, bank.UpdatedBy, timestamppb.New(bank.UpdatedAt)
	}
	return m
}

// ListMessageTemplates implements MessageTemplateService.
func (s *TemplateServer) ListMessageTemplates(ctx context.Context, req *notificationv1.ListMessageTemplatesRequest) (*notificationv1.ListMessageTemplatesResponse, error) {
	p, err := authorize(ctx, actReadTemplates)
	if err != nil {
		return nil, err
	}
	bank, err := s.Store.BankTemplates(ctx, p.Tenant)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "list templates: database unavailable")
	}
	byKey := map[notify.TemplateKey]*notify.BankTemplate{}
	for i := range bank {
		byKey[bank[i].Key] = &bank[i]
	}
	resp := &notificationv1.ListMessageTemplatesResponse{}
	for _, t := range notify.ShippedTemplates() {
		if req.GetTemplate() != "" && string(t) != req.GetTemplate() {
			continue
		}
		for _, ch := range notify.TemplateChannels {
			for _, lang := range notify.Languages {
				k := notify.TemplateKey{Template: t, Channel: ch, Language: lang}
				src, _ := notify.ShippedSource(t, lang)
				resp.Templates = append(resp.Templates, templateProto(k, src, byKey[k]))
			}
		}
	}
	if req.GetTemplate() != "" && len(resp.GetTemplates()) == 0 {
		return nil, status.Errorf(codes.NotFound, "template: %q is not one counterdesk sends", req.GetTemplate())
	}
	return resp, nil
}

// PutMessageTemplate implements MessageTemplateService.
func (s *TemplateServer) PutMessageTemplate(ctx context.Context, req *notificationv1.PutMessageTemplateRequest) (*notificationv1.PutMessageTemplateResponse, error) {
	p, err := authorize(ctx, actWriteTemplates)
	if err != nil {
		return nil, err
	}
	k := templateKey(req.GetTemplate(), req.GetChannel(), req.GetLanguage())
	if _, err := notify.CheckSource(k, req.GetSource()); err != nil {
		return nil, templateError(err)
	}
	bt := notify.BankTemplate{Key: k, Source: req.GetSource(), UpdatedBy: p.Subject, UpdatedAt: s.now()}
	if err := s.Store.PutBankTemplate(ctx, p.Tenant, bt); err != nil {
		return nil, status.Error(codes.Unavailable, "keep template: database unavailable")
	}
	if s.Renderer != nil {
		s.Renderer.Forget(p.Tenant, k)
	}
	return &notificationv1.PutMessageTemplateResponse{Template: templateProto(k, "", &bt)}, nil
}

// DeleteMessageTemplate implements MessageTemplateService.
func (s *TemplateServer) DeleteMessageTemplate(ctx context.Context, req *notificationv1.DeleteMessageTemplateRequest) (*notificationv1.DeleteMessageTemplateResponse, error) {
	p, err := authorize(ctx, actWriteTemplates)
	if err != nil {
		return nil, err
	}
	k := templateKey(req.GetTemplate(), req.GetChannel(), req.GetLanguage())
	if !notify.IsShipped(k.Template) {
		return nil, status.Errorf(codes.NotFound, "template: %q is not one counterdesk sends", k.Template)
	}
	found, err := s.Store.DeleteBankTemplate(ctx, p.Tenant, k)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "drop template: database unavailable")
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "the bank keeps no wording of its own for %s", k)
	}
	if s.Renderer != nil {
		s.Renderer.Forget(p.Tenant, k)
	}
	src, _ := notify.ShippedSource(k.Template, k.Language)
	return &notificationv1.DeleteMessageTemplateResponse{Template: templateProto(k, src, nil)}, nil
}

// PreviewMessageTemplate implements MessageTemplateService.
func (s *TemplateServer) PreviewMessageTemplate(ctx context.Context, req *notificationv1.PreviewMessageTemplateRequest) (*notificationv1.PreviewMessageTemplateResponse, error) {
	p, err := authorize(ctx, actReadTemplates)
	if err != nil {
		return nil, err
	}
	k := templateKey(req.GetTemplate(), req.GetChannel(), req.GetLanguage())
	m, bank, err := notify.Preview(ctx, s.Store, p.Tenant, k, req.GetSource())
	if err != nil {
		return nil, templateError(err)
	}
	resp := &notificationv1.PreviewMessageTemplateResponse{Subject: m.Subject, Body: m.Body, Origin: notificationv1.Origin_ORIGIN_SHIPPED}
	if bank {
		resp.Origin = notificationv1.Origin_ORIGIN_BANK
	}
	switch k.Channel {
	case notify.ChannelEmail:
		resp.Html = m.HTML
	case notify.ChannelSMS:
		resp.Sms, resp.SmsCharacters, resp.SmsParts = m.SMS, int32(utf8.RuneCountInString(m.SMS)), int32(notify.SMSParts(m.SMS))
	}
	return resp, nil
}

func templateError(err error) error {
	if errors.Is(err, notify.ErrInvalidTemplate) {
		return status.Error(codes.InvalidArgument, "source: "+err.Error())
	}
	return status.Error(codes.Unavailable, "template store unavailable")
}

func answerProto(a answers.Answer) *notificationv1.StandardAnswer {
	out := &notificationv1.StandardAnswer{Id: a.ID, Category: casesv1.Category(casesv1.Category_value[a.Category]),
		Language: a.Language, Title: a.Title, Body: a.Body, Origin: notificationv1.Origin_ORIGIN_BANK, UpdatedBy: a.UpdatedBy}
	if a.Shipped {
		out.Origin = notificationv1.Origin_ORIGIN_SHIPPED
	}
	if !a.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(a.UpdatedAt)
	}
	return out
}

// ListStandardAnswers implements MessageTemplateService.
func (s *TemplateServer) ListStandardAnswers(ctx context.Context, req *notificationv1.ListStandardAnswersRequest) (*notificationv1.ListStandardAnswersResponse, error) {
	p, err := authorize(ctx, actReadAnswers)
	if err != nil {
		return nil, err
	}
	category := ""
	if req.GetCategory() != casesv1.Category_CATEGORY_UNSPECIFIED {
		category = req.GetCategory().String()
	}
	as, err := s.Answers.List(ctx, p.Tenant, category, req.GetLanguage())
	if err != nil {
		return nil, status.Error(codes.Unavailable, "list standard answers: database unavailable")
	}
	resp := &notificationv1.ListStandardAnswersResponse{}
	for _, a := range as {
		resp.Answers = append(resp.Answers, answerProto(a))
	}
	return resp, nil
}

// PutStandardAnswer implements MessageTemplateService.
func (s *TemplateServer) PutStandardAnswer(ctx context.Context, req *notificationv1.PutStandardAnswerRequest) (*notificationv1.PutStandardAnswerResponse, error) {
	p, err := authorize(ctx, actWriteAnswers)
	if err != nil {
		return nil, err
	}
	a, err := s.Answers.Put(ctx, p.Tenant, answers.Answer{ID: req.GetId(), Category: req.GetCategory().String(),
		Language: req.GetLanguage(), Title: req.GetTitle(), Body: req.GetBody()}, p.Subject, s.now())
	if errors.Is(err, answers.ErrInvalid) {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "keep standard answer: database unavailable")
	}
	return &notificationv1.PutStandardAnswerResponse{Answer: answerProto(a)}, nil
}

// DeleteStandardAnswer implements MessageTemplateService.
func (s *TemplateServer) DeleteStandardAnswer(ctx context.Context, req *notificationv1.DeleteStandardAnswerRequest) (*notificationv1.DeleteStandardAnswerResponse, error) {
	p, err := authorize(ctx, actWriteAnswers)
	if err != nil {
		return nil, err
	}
	err = s.Answers.Delete(ctx, p.Tenant, req.GetId(), p.Subject, s.now())
	if errors.Is(err, answers.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "id: the bank has no standard answer %q", req.GetId())
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "drop standard answer: database unavailable")
	}
	return &notificationv1.DeleteStandardAnswerResponse{}, nil
}

func rulesProto(rs []notify.Rule) []*notificationv1.NotificationRule {
	out := make([]*notificationv1.NotificationRule, 0, len(rs))
	for _, r := range rs {
		p := &notificationv1.NotificationRule{Template: string(r.Template), Enabled: r.Enabled}
		for _, ch := range r.Channels {
			p.Channels = append(p.Channels, string(ch))
		}
		out = append(out, p)
	}
	return out
}

// GetNotificationRules implements MessageTemplateService.
func (s *TemplateServer) GetNotificationRules(ctx context.Context, _ *notificationv1.GetNotificationRulesRequest) (*notificationv1.GetNotificationRulesResponse, error) {
	p, err := authorize(ctx, actReadTemplates)
	if err != nil {
		return nil, err
	}
	rs, err := s.Rules.Rules(ctx, p.Tenant)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "read notification rules: database unavailable")
	}
	resp := &notificationv1.GetNotificationRulesResponse{Rules: rulesProto(rs.All()), UpdatedBy: rs.UpdatedBy}
	if !rs.UpdatedAt.IsZero() {
		resp.UpdatedAt = timestamppb.New(rs.UpdatedAt)
	}
	return resp, nil
}

// PutNotificationRules implements MessageTemplateService.
func (s *TemplateServer) PutNotificationRules(ctx context.Context, req *notificationv1.PutNotificationRulesRequest) (*notificationv1.PutNotificationRulesResponse, error) {
	p, err := authorize(ctx, actWriteTemplates)
	if err != nil {
		return nil, err
	}
	rules := make([]notify.Rule, 0, len(req.GetRules()))
	for _, r := range req.GetRules() {
		rule := notify.Rule{Template: notify.Template(r.GetTemplate()), Enabled: r.GetEnabled()}
		for _, ch := range r.GetChannels() {
			rule.Channels = append(rule.Channels, notify.Channel(ch))
		}
		rules = append(rules, rule)
	}
	if err := notify.ValidateRules(rules); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.Rules.PutRules(ctx, p.Tenant, rules, p.Subject, s.now()); err != nil {
		return nil, status.Error(codes.Unavailable, "keep notification rules: database unavailable")
	}
	if s.Forget != nil {
		s.Forget(p.Tenant)
	}
	kept := notify.Rules{ByTemplate: map[notify.Template]notify.Rule{}}
	for _, r := range rules {
		kept.ByTemplate[r.Template] = r
	}
	return &notificationv1.PutNotificationRulesResponse{Rules: rulesProto(kept.All())}, nil
}
