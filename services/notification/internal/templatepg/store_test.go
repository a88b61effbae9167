// Protects the bank's own message wordings and standard answers on real
// Postgres, through the API: who may read and change them, every check a
// wording passes before it is kept, preview, the sender using the bank's
// wording at once, and the starter set of standard answers with a bank's
// additions, replacements and removals.
package templatepg_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/answers"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifygrpc"
	"github.com/counterdesk/counterdesk/services/notification/internal/templatepg"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

func as(tenant, subject string, role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Tenant: tenant, Subject: subject, Role: role})
}

func newServer(t *testing.T) (*notifygrpc.TemplateServer, *notify.BankRenderer) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := templatepg.New(pool)
	r := &notify.BankRenderer{Store: store, CacheFor: time.Hour}
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	rules := &templatepg.RuleCache{Store: store, TTL: time.Hour}
	return &notifygrpc.TemplateServer{Store: store, Answers: answers.Service{Store: store, Categories: notifygrpc.Categories()},
		Renderer: r, Rules: store, Forget: rules.Forget, Now: func() time.Time { return now }}, r
}

func wantCode(t *testing.T, err error, code codes.Code, says string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), says) {
		t.Errorf("got %v, want %s saying %q", err, code, says)
	}
}

func TestABanksOwnWordingIsCheckedKeptPreviewedAndSent(t *testing.T) {
	srv, renderer := newServer(t)
	ho := as("bank-a", "ho-1", auth.RoleHeadOffice)
	smsKey := &notificationv1.PutMessageTemplateRequest{Template: "case_acknowledgment", Channel: "sms", Language: "zh-CN"}

	// Who may do what.
	for _, tc := range []struct {
		name string
		ctx  context.Context
		put  codes.Code
		list codes.Code
	}{
		{"compliance reads, does not write", as("bank-a", "c-1", auth.RoleCompliance), codes.PermissionDenied, codes.OK},
		{"a branch head neither", as("bank-a", "bh-1", auth.RoleBranchHead), codes.PermissionDenied, codes.PermissionDenied},
		{"a bank system neither", as("bank-a", "sys", auth.RoleBankSystem), codes.PermissionDenied, codes.PermissionDenied},
		{"nobody", context.Background(), codes.Unauthenticated, codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &notificationv1.PutMessageTemplateRequest{Template: smsKey.Template, Channel: "sms", Language: "zh-CN",
				Source: `{{define "sms"}}x{{.CaseNumber}}{{end}}`}
			_, err := srv.PutMessageTemplate(tc.ctx, req)
			if status.Code(err) != tc.put {
				t.Errorf("put: %v, want %s", err, tc.put)
			}
			_, err = srv.ListMessageTemplates(tc.ctx, &notificationv1.ListMessageTemplatesRequest{})
			if status.Code(err) != tc.list {
				t.Errorf("list: %v, want %s", err, tc.list)
			}
		})
	}

	// A wording that cannot be sent is refused, saying why, and nothing is kept.
	bad := &notificationv1.PutMessageTemplateRequest{Template: smsKey.Template, Channel: "sms", Language: "zh-CN"}
	bad.Source = `{{define "sms"}}` + strings.Repeat("长", 281) + `{{end}}`
	_, err := srv.PutMessageTemplate(ho, bad)
	wantCode(t, err, codes.InvalidArgument, "source: invalid template: the SMS is 281 characters with the sample case; at most 280")
	bad.Source = `{{define "sms"}}{{.Phone}}{{end}}`
	_, err = srv.PutMessageTemplate(ho, bad)
	wantCode(t, err, codes.InvalidArgument, "can't evaluate field Phone")

	// Preview of a draft, then keep it.
	draft := `{{define "sms"}}【甲农商行】您的问题已受理，编号{{.CaseNumber}}，{{.ExpectedAnswer}}前答复。{{end}}`
	pv, err := srv.PreviewMessageTemplate(ho, &notificationv1.PreviewMessageTemplateRequest{Template: "case_acknowledgment", Channel: "sms", Language: "zh-CN", Source: draft})
	if err != nil {
		t.Fatal(err)
	}
	if pv.GetSms() != "【甲农商行】您的问题已受理，编号CD-20261122-000042，2026年11月23日 17:00前答复。" || pv.GetSmsCharacters() != 56 || pv.GetSmsParts() != 1 {
		t.Errorf("preview %q, %d characters, %d parts", pv.GetSms(), pv.GetSmsCharacters(), pv.GetSmsParts())
	}
	c := notify.SampleContent(notify.TemplateCaseAcknowledgment)
	before, err := renderer.Render(context.Background(), "bank-a", notify.ChannelSMS, notify.TemplateCaseAcknowledgment, notify.LanguageZhCN, c)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := srv.PutMessageTemplate(ho, &notificationv1.PutMessageTemplateRequest{Template: smsKey.Template, Channel: "sms", Language: "zh-CN", Source: draft})
	if err != nil {
		t.Fatal(err)
	}
	if kept.GetTemplate().GetOrigin() != notificationv1.Origin_ORIGIN_BANK || kept.GetTemplate().GetUpdatedBy() != "ho-1" {
		t.Errorf("kept %+v", kept.GetTemplate())
	}
	// The sender sends it at once (this replica forgot its cached shipped one).
	after, err := renderer.Render(context.Background(), "bank-a", notify.ChannelSMS, notify.TemplateCaseAcknowledgment, notify.LanguageZhCN, c)
	if err != nil {
		t.Fatal(err)
	}
	if before.SMS == after.SMS || !strings.HasPrefix(after.SMS, "【甲农商行】") {
		t.Errorf("SMS before %q, after %q", before.SMS, after.SMS)
	}
	// Another bank still sends the shipped wording.
	other, _ := renderer.Render(context.Background(), "bank-b", notify.ChannelSMS, notify.TemplateCaseAcknowledgment, notify.LanguageZhCN, c)
	if other.SMS != before.SMS {
		t.Errorf("bank-b's SMS %q, want the shipped %q", other.SMS, before.SMS)
	}

	list, err := srv.ListMessageTemplates(ho, &notificationv1.ListMessageTemplatesRequest{Template: "case_acknowledgment"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetTemplates()) != 6 {
		t.Errorf("%d wordings of case_acknowledgment, want 3 channels × 2 languages", len(list.GetTemplates()))
	}
	for _, m := range list.GetTemplates() {
		bank := m.GetChannel() == "sms" && m.GetLanguage() == "zh-CN"
		if (m.GetOrigin() == notificationv1.Origin_ORIGIN_BANK) != bank || m.GetSource() == "" || len(m.GetFields()) == 0 {
			t.Errorf("%s/%s: origin %s, %d fields", m.GetChannel(), m.GetLanguage(), m.GetOrigin(), len(m.GetFields()))
		}
	}
	// Dropped: the shipped wording again; dropping twice is not found.
	if _, err := srv.DeleteMessageTemplate(ho, &notificationv1.DeleteMessageTemplateRequest{Template: "case_acknowledgment", Channel: "sms", Language: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	again, _ := renderer.Render(context.Background(), "bank-a", notify.ChannelSMS, notify.TemplateCaseAcknowledgment, notify.LanguageZhCN, c)
	if again.SMS != before.SMS {
		t.Errorf("after the drop: %q", again.SMS)
	}
	_, err = srv.DeleteMessageTemplate(ho, &notificationv1.DeleteMessageTemplateRequest{Template: "case_acknowledgment", Channel: "sms", Language: "zh-CN"})
	wantCode(t, err, codes.NotFound, "keeps no wording of its own")
}

func TestStandardAnswersStartFromTheShippedSetAndFollowTheBank(t *testing.T) {
	srv, _ := newServer(t)
	teller := as("bank-a", "t-1", auth.RoleTeller)
	ho := as("bank-a", "ho-1", auth.RoleHeadOffice)
	list := func(ctx context.Context, cat casesv1.Category, lang string) []*notificationv1.StandardAnswer {
		t.Helper()
		resp, err := srv.ListStandardAnswers(ctx, &notificationv1.ListStandardAnswersRequest{Category: cat, Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetAnswers()
	}
	all := list(teller, 0, "")
	if len(all) != 28 {
		t.Fatalf("%d shipped answers, want 14 kinds × 2 languages", len(all))
	}
	zhFee := list(teller, casesv1.Category_CATEGORY_FEE_DISPUTE, "zh-CN")
	if len(zhFee) != 1 || zhFee[0].GetId() != "fee-dispute-explained-zh" || zhFee[0].GetOrigin() != notificationv1.Origin_ORIGIN_SHIPPED {
		t.Fatalf("fee dispute in Chinese: %v", zhFee)
	}

	_, err := srv.PutStandardAnswer(teller, &notificationv1.PutStandardAnswerRequest{Id: "x-zh", Category: casesv1.Category_CATEGORY_FEE_DISPUTE, Language: "zh-CN", Title: "t", Body: "b"})
	wantCode(t, err, codes.PermissionDenied, "may not change the bank's standard answers")
	_, err = srv.PutStandardAnswer(ho, &notificationv1.PutStandardAnswerRequest{Id: "fee-annual", Category: casesv1.Category_CATEGORY_FEE_DISPUTE, Language: "zh-CN", Title: "年费\n说明", Body: "b"})
	wantCode(t, err, codes.InvalidArgument, "title: one line")

	// The bank adds one, replaces a shipped one and disables another.
	if _, err := srv.PutStandardAnswer(ho, &notificationv1.PutStandardAnswerRequest{Id: "fee-annual-card-zh", Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
		Language: "zh-CN", Title: "信用卡年费", Body: "尊敬的客户：您的信用卡年费已按【规则】减免。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.PutStandardAnswer(ho, &notificationv1.PutStandardAnswerRequest{Id: "fee-dispute-explained-zh", Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
		Language: "zh-CN", Title: "手续费：本行口径", Body: "尊敬的客户：本行收费依据【价目表】。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.DeleteStandardAnswer(ho, &notificationv1.DeleteStandardAnswerRequest{Id: "queue-ticket-incident-zh"}); err != nil {
		t.Fatal(err)
	}
	zhFee = list(teller, casesv1.Category_CATEGORY_FEE_DISPUTE, "zh-CN")
	var got []string
	for _, a := range zhFee {
		got = append(got, a.GetId()+" "+a.GetTitle()+" "+a.GetOrigin().String())
	}
	want := []string{"fee-annual-card-zh 信用卡年费 ORIGIN_BANK", "fee-dispute-explained-zh 手续费：本行口径 ORIGIN_BANK"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fee answers %v, want %v", got, want)
	}
	if n := len(list(teller, casesv1.Category_CATEGORY_QUEUE_TICKET_INCIDENT, "zh-CN")); n != 0 {
		t.Errorf("a disabled shipped answer is still listed (%d)", n)
	}
	if n := len(list(as("bank-b", "t-9", auth.RoleTeller), 0, "")); n != 28 {
		t.Errorf("bank-b sees %d answers, want the 28 shipped (bank-a's changes are bank-a's)", n)
	}
	_, err = srv.DeleteStandardAnswer(ho, &notificationv1.DeleteStandardAnswerRequest{Id: "never-kept"})
	wantCode(t, err, codes.NotFound, `no standard answer "never-kept"`)
	// The bank's own one goes away for good.
	if _, err := srv.DeleteStandardAnswer(ho, &notificationv1.DeleteStandardAnswerRequest{Id: "fee-annual-card-zh"}); err != nil {
		t.Fatal(err)
	}
	if n := len(list(teller, casesv1.Category_CATEGORY_FEE_DISPUTE, "zh-CN")); n != 1 {
		t.Errorf("after deleting the bank's own: %d fee answers, want 1", n)
	}
}

func TestNotificationRulesAreCheckedAndKeptPerBank(t *testing.T) {
	srv, _ := newServer(t)
	ho := as("bank-a", "ho-1", auth.RoleHeadOffice)
	get := func(ctx context.Context) map[string]*notificationv1.NotificationRule {
		t.Helper()
		resp, err := srv.GetNotificationRules(ctx, &notificationv1.GetNotificationRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*notificationv1.NotificationRule{}
		for _, r := range resp.GetRules() {
			out[r.GetTemplate()] = r
		}
		return out
	}
	if rs := get(ho); len(rs) != len(notify.ShippedTemplates()) || !rs["case_handed_over"].GetEnabled() || len(rs["case_handed_over"].GetChannels()) != 0 {
		t.Fatalf("default rules %v", rs)
	}
	_, err := srv.PutNotificationRules(as("bank-a", "c-1", auth.RoleCompliance), &notificationv1.PutNotificationRulesRequest{})
	wantCode(t, err, codes.PermissionDenied, "may not change the bank's message templates")
	_, err = srv.PutNotificationRules(ho, &notificationv1.PutNotificationRulesRequest{Rules: []*notificationv1.NotificationRule{
		{Template: "case_handed_over", Enabled: true}, {Template: "case_handed_over"}}})
	wantCode(t, err, codes.InvalidArgument, `rules[1].template: "case_handed_over" has a rule already`)
	if _, err := srv.PutNotificationRules(ho, &notificationv1.PutNotificationRulesRequest{Rules: []*notificationv1.NotificationRule{
		{Template: "case_handed_over", Enabled: false}, {Template: "case_answer", Enabled: true, Channels: []string{"sms", "email"}}}}); err != nil {
		t.Fatal(err)
	}
	rs := get(ho)
	if rs["case_handed_over"].GetEnabled() || strings.Join(rs["case_answer"].GetChannels(), ",") != "sms,email" || !rs["case_acknowledgment"].GetEnabled() {
		t.Errorf("kept rules %v", rs)
	}
	if !get(as("bank-b", "ho-b", auth.RoleHeadOffice))["case_handed_over"].GetEnabled() {
		t.Error("bank-a's rules changed bank-b's")
	}
}
