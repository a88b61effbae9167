// Every figure of the reporting API checked against a small fixed data set
// whose expectations are worked out by hand below (see the case list in
// deliverDataSet), through the real gRPC server on real Postgres: from the
// rollups (whole months, one dimension) and from the case facts (any other
// window), which must agree.
package reportpg_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// The data set's clock: 2 April 2025, 12:00 in Shanghai.
var dsNow = time.Date(2025, 4, 2, 4, 0, 0, 0, time.UTC)

// March 2025 in Shanghai, as the API is asked for it.
var (
	marchFrom = time.Date(2025, 3, 1, 0, 0, 0, 0, shanghai)
	marchTo   = time.Date(2025, 4, 1, 0, 0, 0, 0, shanghai)
)

type ev struct {
	caseID  string
	payload proto.Message
	at      time.Time
}

func anyEnvelope(tenant string, e ev) *eventsv1.Envelope {
	env := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: e.caseID,
		OccurredAt: timestamppb.New(e.at), Producer: "test"}
	switch p := e.payload.(type) {
	case *eventsv1.CaseCreated:
		env.Type, env.Payload = "CaseCreated", &eventsv1.Envelope_CaseCreated{CaseCreated: p}
	case *eventsv1.AssignmentMade:
		env.Type, env.Payload = "AssignmentMade", &eventsv1.Envelope_AssignmentMade{AssignmentMade: p}
	case *eventsv1.NotificationSent:
		env.Type, env.Payload = "NotificationSent", &eventsv1.Envelope_NotificationSent{NotificationSent: p}
	case *eventsv1.DeadlineBreached:
		env.Type, env.Payload = "DeadlineBreached", &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: p}
	case *eventsv1.DeadlineWarned:
		env.Type, env.Payload = "DeadlineWarned", &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: p}
	case *eventsv1.DeadlinesArmed:
		env.Type, env.Payload = "DeadlinesArmed", &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: p}
	case *eventsv1.DeadlineRecomputed:
		env.Type, env.Payload = "DeadlineRecomputed", &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: p}
	case *eventsv1.CaseTransitioned:
		env.Type, env.Payload = "CaseTransitioned", &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: p}
	default:
		panic("unexpected payload")
	}
	return env
}

func opened(branch, region string, cat casesv1.Category, ch casesv1.Channel, sev casesv1.Severity, tier casesv1.CustomerTier, at time.Time, repeat bool) *eventsv1.CaseCreated {
	return &eventsv1.CaseCreated{CaseNumber: "N-" + at.Format("0102150405"), BranchId: branch, RegionId: region, Channel: ch, Category: cat,
		Severity: sev, CustomerTier: tier, Status: casesv1.CaseStatus_CASE_STATUS_REPORTED, CreatedAt: timestamppb.New(at.Add(time.Minute)),
		ReceivedAt: timestamppb.New(at), Repeat: repeat, CustomerNameMasked: "张*", CustomerPhoneMasked: "138****5678", TimeZone: "Asia/Shanghai"}
}

func armed(at time.Time, kinds ...any) *eventsv1.DeadlinesArmed {
	a := &eventsv1.DeadlinesArmed{}
	for i := 0; i < len(kinds); i += 2 {
		a.Deadlines = append(a.Deadlines, &eventsv1.ArmedDeadline{Kind: kinds[i].(string), DueAt: timestamppb.New(at.Add(kinds[i+1].(time.Duration)))})
	}
	return a
}

func step(action string, to casesv1.CaseStatus, at time.Time) *eventsv1.CaseTransitioned {
	return &eventsv1.CaseTransitioned{Action: action, ToStatus: to, At: timestamppb.New(at), ActorId: "s-1"}
}

func assign(kind, level, owner string, at time.Time) *eventsv1.AssignmentMade {
	return &eventsv1.AssignmentMade{OwnerId: owner, Kind: kind, Level: level, Reason: kind, AssignedAt: timestamppb.New(at)}
}

const (
	ack    = report.KindAcknowledge
	answer = report.KindFirstAnswer
	resolv = report.KindResolution
)

// deliverDataSet delivers the fixed data set (times UTC; Shanghai is +8):
//
//	A b1/r1 SERVICE_ATTITUDE ON_SITE NORMAL GOLD, received Mon 3 Mar 10:00 local: acknowledged in 10 min,
//	  answered in 2 h (manual entry error, a 5,000 fen gift under "gold"), satisfaction 5, closed after 25 h.
//	B b1/r1 FEE_DISPUTE PHONE COMPLEX REGULAR, repeat, received Tue 4 Mar 11:30 local: acknowledged
//	  after 2 h (breached), yellow and orange warnings on the answer, transferred, escalated to the region,
//	  answered after 2 days (manual entry error), satisfaction 3; still open.
//	C b2/r1 SERVICE_ATTITUDE ONLINE NORMAL REGULAR, received Mon 10 Mar 14:00 local: acknowledged in
//	  30 min, a red warning and a breach of the answer; never answered, open and overdue.
//	D b3/r2 EQUIPMENT_FAILURE ON_SITE NORMAL PRIVATE, received Thu 20 Mar 09:00 local: withdrawn in 30 min.
//	E b3/r2 SERVICE_ATTITUDE ON_SITE NORMAL REGULAR, received Wed 2 Apr 10:00 local: answered in 1 h
//	  (system operation error), then moved to branch b4 of r2.
//
// plus an assignment of a case whose creation never arrives, and a case of
// another bank, both counted nowhere. Events of one case arrive in an order
// that is not the order they happened in across topics.
func deliverDataSet(t *testing.T, f *fixture) {
	t.Helper()
	a := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	b := time.Date(2025, 3, 4, 3, 30, 0, 0, time.UTC)
	c := time.Date(2025, 3, 10, 6, 0, 0, 0, time.UTC)
	d := time.Date(2025, 3, 20, 1, 0, 0, 0, time.UTC)
	e := time.Date(2025, 4, 2, 2, 0, 0, 0, time.UTC)
	answerA := step("answer", casesv1.CaseStatus_CASE_STATUS_ANSWERED, a.Add(2*time.Hour))
	answerA.RootCause = casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR
	answerA.CompensationKind, answerA.CompensationAmountFen, answerA.CompensationTier = casesv1.CompensationKind_COMPENSATION_KIND_GIFT, 5000, "gold"
	visitA := step("recordReturnVisit", casesv1.CaseStatus_CASE_STATUS_FOLLOWING_UP, a.Add(24*time.Hour))
	visitA.Satisfaction = 5
	answerB := step("answer", casesv1.CaseStatus_CASE_STATUS_ANSWERED, b.Add(48*time.Hour))
	answerB.RootCause = casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR
	visitB := step("recordReturnVisit", casesv1.CaseStatus_CASE_STATUS_FOLLOWING_UP, b.Add(72*time.Hour))
	visitB.Satisfaction = 3
	answerE := step("answer", casesv1.CaseStatus_CASE_STATUS_ANSWERED, e.Add(time.Hour))
	answerE.RootCause = casesv1.RootCause_ROOT_CAUSE_SYSTEM_OPERATION_ERROR
	events := []ev{
		// A: the assignment and the acknowledgment before the creation.
		{"A", assign("assign", "first_receiver", "t-1", a.Add(time.Minute)), a},
		{"A", &eventsv1.NotificationSent{Template: report.AcknowledgmentTemplate, Channel: "sms", SentAt: timestamppb.New(a.Add(10 * time.Minute))}, a},
		{"A", opened("b1", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, casesv1.Channel_CHANNEL_ON_SITE, casesv1.Severity_SEVERITY_NORMAL, casesv1.CustomerTier_CUSTOMER_TIER_GOLD, a, false), a},
		{"A", armed(a, ack, time.Hour, answer, 24*time.Hour, resolv, 7*24*time.Hour), a},
		{"A", answerA, a},
		{"A", visitA, a},
		{"A", step("close", casesv1.CaseStatus_CASE_STATUS_CLOSED, a.Add(25*time.Hour)), a},
		// B
		{"B", opened("b1", "r1", casesv1.Category_CATEGORY_FEE_DISPUTE, casesv1.Channel_CHANNEL_PHONE, casesv1.Severity_SEVERITY_COMPLEX, casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, b, true), b},
		{"B", armed(b, ack, time.Hour, answer, 5*24*time.Hour), b},
		{"B", assign("assign", "first_receiver", "t-2", b.Add(time.Minute)), b},
		{"B", &eventsv1.DeadlineBreached{Kind: ack, DueAt: timestamppb.New(b.Add(time.Hour))}, b},
		{"B", &eventsv1.NotificationSent{Template: report.AcknowledgmentTemplate, Channel: "sms", SentAt: timestamppb.New(b.Add(2 * time.Hour))}, b},
		{"B", &eventsv1.NotificationSent{Template: "case_answer", Channel: "sms", SentAt: timestamppb.New(b.Add(3 * time.Hour))}, b},
		{"B", assign("transfer", "complaint_manager", "cm-1", b.Add(3*time.Hour)), b},
		{"B", &eventsv1.DeadlineWarned{Kind: answer, Level: "yellow"}, b},
		{"B", assign("escalate", "regional", "rs-1", b.Add(24*time.Hour)), b},
		{"B", &eventsv1.DeadlineWarned{Kind: answer, Level: "orange"}, b},
		{"B", answerB, b},
		{"B", visitB, b},
		// C: the breach before the creation.
		{"C", &eventsv1.DeadlineBreached{Kind: answer, DueAt: timestamppb.New(c.Add(24 * time.Hour))}, c},
		{"C", opened("b2", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, casesv1.Channel_CHANNEL_ONLINE, casesv1.Severity_SEVERITY_NORMAL, casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, c, false), c},
		{"C", armed(c, ack, time.Hour, answer, 24*time.Hour), c},
		{"C", step("acknowledge", casesv1.CaseStatus_CASE_STATUS_REPORTED, c.Add(30*time.Minute)), c},
		{"C", &eventsv1.DeadlineWarned{Kind: answer, Level: "red"}, c},
		// D
		{"D", opened("b3", "r2", casesv1.Category_CATEGORY_EQUIPMENT_FAILURE, casesv1.Channel_CHANNEL_ON_SITE, casesv1.Severity_SEVERITY_NORMAL, casesv1.CustomerTier_CUSTOMER_TIER_PRIVATE, d, false), d},
		{"D", armed(d, ack, time.Hour), d},
		{"D", step("withdraw", casesv1.CaseStatus_CASE_STATUS_WITHDRAWN, d.Add(30*time.Minute)), d},
		// E
		{"E", opened("b3", "r2", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, casesv1.Channel_CHANNEL_ON_SITE, casesv1.Severity_SEVERITY_NORMAL, casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, e, false), e},
		{"E", armed(e, answer, 24*time.Hour), e},
		{"E", answerE, e},
		// E moves to branch b4 of the same region after the rollups counted it at b3.
		{"E", &eventsv1.CaseTransitioned{Action: "moveBranch", ToStatus: casesv1.CaseStatus_CASE_STATUS_ANSWERED, At: timestamppb.New(e.Add(2 * time.Hour)),
			BranchId: "b4", RegionId: "r2"}, e},
		// Counted nowhere.
		{"F", assign("assign", "first_receiver", "t-9", c), c},
	}
	for _, x := range events {
		f.deliver(t, anyEnvelope("bank-a", x))
		// The rollups count as events arrive: each case is counted, then
		// moved by every later change.
		if _, err := f.store.RefreshRollups(context.Background(), 1000); err != nil {
			t.Fatalf("refresh rollups: %v", err)
		}
	}
	f.deliver(t, anyEnvelope("bank-b", ev{"G", opened("b1", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, casesv1.Channel_CHANNEL_ON_SITE,
		casesv1.Severity_SEVERITY_NORMAL, casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, a, true), a}))
	if _, err := f.store.RefreshRollups(context.Background(), 1000); err != nil {
		t.Fatalf("refresh rollups: %v", err)
	}
}

func (f *fixture) server() *reportgrpc.Server {
	return &reportgrpc.Server{
		Reports: &report.Reports{Store: f.store, Figures: f.store, Now: func() time.Time { return dsNow }},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Zone:    shanghai,
	}
}

func caller(role auth.Role, branch, region string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "u", Role: role, Branch: branch, Region: region})
}

var headOfficeCtx = caller(auth.RoleHeadOffice, "", "")

func march() *reportingv1.ReportFilter {
	return &reportingv1.ReportFilter{From: timestamppb.New(marchFrom), To: timestamppb.New(marchTo)}
}

// The whole bank's March, worked out by hand from the data set.
func wantMarch() *reportingv1.Figures {
	return &reportingv1.Figures{
		Received: 4, Answered: 2, Closed: 1, Open: 2, Withdrawn: 1,
		// Acknowledged: A and C in time, B late; D withdrawn before any.
		AcknowledgedInTimeRate: 2.0 / 3, AcknowledgeSettled: 3,
		// Answered: A and B in time, C breached.
		AnsweredInTimeRate: 2.0 / 3, AnswerSettled: 3,
		ResolvedInTimeRate: 1, ResolveSettled: 1,
		Warnings: 3, Breaches: 2, Escalations: 1,
		// A 2 h, B 48 h.
		HandlingSecondsMean: (7200 + 172800) / 2.0, HandlingSecondsP50: 7200, HandlingSecondsP90: 172800,
		HandoversPerCase: 2.0 / 4, SettledAtBranchRate: 0.5, SettledAtBranch: 1,
		Repeats: 1, SatisfactionMean: 4, SatisfactionCount: 2, SatisfactionDistribution: map[string]int64{"3": 1, "5": 1},
		Compensated: 1, CompensationFen: 5000,
	}
}

// sameFigures compares figures, percentiles within the histogram's 5%.
func sameFigures(t *testing.T, what string, got, want *reportingv1.Figures) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.05*math.Abs(b)+1e-9 }
	g, w := proto.Clone(got).(*reportingv1.Figures), proto.Clone(want).(*reportingv1.Figures)
	if !near(g.GetHandlingSecondsP50(), w.GetHandlingSecondsP50()) || !near(g.GetHandlingSecondsP90(), w.GetHandlingSecondsP90()) {
		t.Errorf("%s: p50/p90 = %v/%v, want %v/%v within 5%%", what, g.GetHandlingSecondsP50(), g.GetHandlingSecondsP90(),
			w.GetHandlingSecondsP50(), w.GetHandlingSecondsP90())
	}
	g.HandlingSecondsP50, g.HandlingSecondsP90, w.HandlingSecondsP50, w.HandlingSecondsP90 = 0, 0, 0, 0
	for _, r := range []*float64{&g.AcknowledgedInTimeRate, &g.AnsweredInTimeRate, &g.HandlingSecondsMean} {
		*r = math.Round(*r*1e9) / 1e9
	}
	for _, r := range []*float64{&w.AcknowledgedInTimeRate, &w.AnsweredInTimeRate, &w.HandlingSecondsMean} {
		*r = math.Round(*r*1e9) / 1e9
	}
	if !proto.Equal(g, w) {
		t.Errorf("%s:\n got %v\nwant %v", what, g, w)
	}
}

func TestEveryFigureMatchesTheHandCountedDataSet(t *testing.T) {
	f := newFixture(t)
	deliverDataSet(t, f)
	srv := f.server()
	ctx := headOfficeCtx

	t.Run("overview of March from the rollups", func(t *testing.T) {
		o, err := srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{Filter: march()})
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, "march", o.GetFigures(), wantMarch())
		if o.GetOverdueOpen() != 1 || o.GetNearDeadlineOpen() != 0 {
			t.Errorf("overdue %d near %d, want C overdue and none near", o.GetOverdueOpen(), o.GetNearDeadlineOpen())
		}
	})
	t.Run("the same window not on month boundaries is counted from the case facts, with the same figures", func(t *testing.T) {
		flt := march()
		flt.From = timestamppb.New(marchFrom.Add(time.Second))
		o, err := srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{Filter: flt})
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, "march from facts", o.GetFigures(), wantMarch())
	})
	t.Run("every month: E joins", func(t *testing.T) {
		o, err := srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{})
		if err != nil {
			t.Fatal(err)
		}
		fg := o.GetFigures()
		if fg.GetReceived() != 5 || fg.GetAnswered() != 3 || fg.GetOpen() != 3 || fg.GetAnswerSettled() != 4 ||
			math.Abs(fg.GetAnsweredInTimeRate()-0.75) > 1e-9 || math.Abs(fg.GetHandlingSecondsMean()-(7200+172800+3600)/3.0) > 1e-6 {
			t.Errorf("all months: %v", fg)
		}
	})
	t.Run("breakdowns by branch, region and category", func(t *testing.T) {
		counts := func(d reportingv1.Dimension, flt *reportingv1.ReportFilter) map[string]int64 {
			r, err := srv.GetBreakdown(ctx, &reportingv1.GetBreakdownRequest{Dimension: d, Filter: flt})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, row := range r.GetRows() {
				out[row.GetKey()] = row.GetFigures().GetReceived()
			}
			return out
		}
		for _, tt := range []struct {
			name string
			d    reportingv1.Dimension
			flt  *reportingv1.ReportFilter
			want map[string]int64
		}{
			{"branches in March", reportingv1.Dimension_DIMENSION_BRANCH, march(), map[string]int64{"b1": 2, "b2": 1, "b3": 1}},
			{"regions in March", reportingv1.Dimension_DIMENSION_REGION, march(), map[string]int64{"r1": 3, "r2": 1}},
			{"categories in March", reportingv1.Dimension_DIMENSION_CATEGORY, march(),
				map[string]int64{"CATEGORY_SERVICE_ATTITUDE": 2, "CATEGORY_FEE_DISPUTE": 1, "CATEGORY_EQUIPMENT_FAILURE": 1}},
			{"channels of service-attitude cases", reportingv1.Dimension_DIMENSION_CHANNEL,
				&reportingv1.ReportFilter{Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE},
				map[string]int64{"CHANNEL_ON_SITE": 2, "CHANNEL_ONLINE": 1}},
			{"tiers of the whole history", reportingv1.Dimension_DIMENSION_CUSTOMER_TIER, nil,
				map[string]int64{"CUSTOMER_TIER_GOLD": 1, "CUSTOMER_TIER_REGULAR": 3, "CUSTOMER_TIER_PRIVATE": 1}},
			{"severities of branch b1", reportingv1.Dimension_DIMENSION_SEVERITY, &reportingv1.ReportFilter{BranchId: "b1"},
				map[string]int64{"SEVERITY_NORMAL": 1, "SEVERITY_COMPLEX": 1}},
		} {
			if got := counts(tt.d, tt.flt); !mapsEqual(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
		// b1 in March in full: A and B.
		r, err := srv.GetBreakdown(ctx, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_BRANCH, Filter: march()})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range r.GetRows() {
			if row.GetKey() == "b1" {
				sameFigures(t, "b1", row.GetFigures(), &reportingv1.Figures{Received: 2, Answered: 2, Closed: 1, Open: 1,
					AcknowledgedInTimeRate: 0.5, AcknowledgeSettled: 2, AnsweredInTimeRate: 1, AnswerSettled: 2,
					ResolvedInTimeRate: 1, ResolveSettled: 1, Warnings: 2, Breaches: 1, Escalations: 1,
					HandlingSecondsMean: 90000, HandlingSecondsP50: 7200, HandlingSecondsP90: 172800, HandoversPerCase: 1,
					SettledAtBranchRate: 0.5, SettledAtBranch: 1, Repeats: 1, SatisfactionMean: 4, SatisfactionCount: 2,
					SatisfactionDistribution: map[string]int64{"3": 1, "5": 1}, Compensated: 1, CompensationFen: 5000})
			}
		}
	})
	t.Run("a category with another dimension: from the rollups at bank and region level, from the case facts by branch", func(t *testing.T) {
		for _, tt := range []struct {
			flt      *reportingv1.ReportFilter
			received int64
		}{
			{&reportingv1.ReportFilter{Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE, Channel: casesv1.Channel_CHANNEL_ON_SITE}, 2},                 // A and E
			{&reportingv1.ReportFilter{Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE, Channel: casesv1.Channel_CHANNEL_ON_SITE, BranchId: "b1"}, 1}, // A
		} {
			o, err := srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{Filter: tt.flt})
			if err != nil {
				t.Fatal(err)
			}
			if o.GetFigures().GetReceived() != tt.received || o.GetFigures().GetCompensationFen() != 5000 { // A's
				t.Errorf("service attitude on site (%v): %v, want %d received", tt.flt, o.GetFigures(), tt.received)
			}
		}
		// Every pair, both ways round, at bank level and in region r1:
		// the rollups (no window) and the case facts (a window from a
		// second past a month's start, before any case) count the same.
		facts := func(f *reportingv1.ReportFilter) *reportingv1.ReportFilter {
			c := proto.Clone(f).(*reportingv1.ReportFilter)
			c.From = timestamppb.New(time.Date(2000, 1, 1, 0, 0, 1, 0, shanghai))
			return c
		}
		type pairCase struct {
			name string
			d    reportingv1.Dimension
			flt  *reportingv1.ReportFilter
		}
		var pairs []pairCase
		for _, region := range []string{"", "r1"} {
			pairs = append(pairs,
				pairCase{"channels of service attitude", reportingv1.Dimension_DIMENSION_CHANNEL,
					&reportingv1.ReportFilter{RegionId: region, Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE}},
				pairCase{"severities of service attitude", reportingv1.Dimension_DIMENSION_SEVERITY,
					&reportingv1.ReportFilter{RegionId: region, Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE}},
				pairCase{"tiers of fee disputes", reportingv1.Dimension_DIMENSION_CUSTOMER_TIER,
					&reportingv1.ReportFilter{RegionId: region, Category: casesv1.Category_CATEGORY_FEE_DISPUTE}},
				pairCase{"categories on site", reportingv1.Dimension_DIMENSION_CATEGORY,
					&reportingv1.ReportFilter{RegionId: region, Channel: casesv1.Channel_CHANNEL_ON_SITE}},
				pairCase{"categories of regular customers", reportingv1.Dimension_DIMENSION_CATEGORY,
					&reportingv1.ReportFilter{RegionId: region, CustomerTier: casesv1.CustomerTier_CUSTOMER_TIER_REGULAR}},
				pairCase{"categories of complex cases", reportingv1.Dimension_DIMENSION_CATEGORY,
					&reportingv1.ReportFilter{RegionId: region, Severity: casesv1.Severity_SEVERITY_COMPLEX}},
				pairCase{"regions of service attitude on site", reportingv1.Dimension_DIMENSION_REGION,
					&reportingv1.ReportFilter{RegionId: region, Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE, Channel: casesv1.Channel_CHANNEL_ON_SITE}},
			)
		}
		pairs = append(pairs, pairCase{"the region of branch b1", reportingv1.Dimension_DIMENSION_REGION, &reportingv1.ReportFilter{BranchId: "b1"}})
		for _, tt := range pairs {
			got, err := srv.GetBreakdown(ctx, &reportingv1.GetBreakdownRequest{Dimension: tt.d, Filter: tt.flt})
			if err != nil {
				t.Fatal(err)
			}
			want, err := srv.GetBreakdown(ctx, &reportingv1.GetBreakdownRequest{Dimension: tt.d, Filter: facts(tt.flt)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.GetRows()) != len(want.GetRows()) || len(want.GetRows()) == 0 {
				t.Errorf("%s in %q: %d rows from the rollups, %d from the case facts", tt.name, tt.flt.GetRegionId(), len(got.GetRows()), len(want.GetRows()))
				continue
			}
			byKey := map[string]*reportingv1.Figures{}
			for _, r := range want.GetRows() {
				byKey[r.GetKey()] = r.GetFigures()
			}
			for _, r := range got.GetRows() {
				if w, ok := byKey[r.GetKey()]; !ok {
					t.Errorf("%s in %q: row %s only from the rollups", tt.name, tt.flt.GetRegionId(), r.GetKey())
				} else {
					sameFigures(t, tt.name+" "+r.GetKey(), r.GetFigures(), w)
				}
			}
		}
	})
	t.Run("compliance by deadline kind", func(t *testing.T) {
		c, err := srv.GetCompliance(ctx, &reportingv1.GetComplianceRequest{Filter: march()})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*reportingv1.DeadlineCompliance{}
		for _, d := range c.GetDeadlines() {
			got[d.GetKind()] = d
		}
		want := map[string]*reportingv1.DeadlineCompliance{
			ack:    {Kind: ack, Armed: 4, Met: 2, Breached: 1, Open: 1, MetRate: 2.0 / 3, Warnings: map[string]int64{}},
			answer: {Kind: answer, Armed: 3, Met: 2, Breached: 1, Open: 0, MetRate: 2.0 / 3, Warnings: map[string]int64{"yellow": 1, "orange": 1, "red": 1}},
			resolv: {Kind: resolv, Armed: 1, Met: 1, Open: 0, MetRate: 1, Warnings: map[string]int64{}},
		}
		if len(got) != len(want) {
			t.Errorf("kinds %v, want %v", got, want)
		}
		for k, w := range want {
			g := got[k]
			if g == nil {
				t.Errorf("no %s", k)
				continue
			}
			if g.GetArmed() != w.GetArmed() || g.GetMet() != w.GetMet() || g.GetBreached() != w.GetBreached() || g.GetOpen() != w.GetOpen() ||
				math.Abs(g.GetMetRate()-w.GetMetRate()) > 1e-9 || !mapsEqual(g.GetWarnings(), w.GetWarnings()) {
				t.Errorf("%s: %v, want %v", k, g, w)
			}
		}
		if c.GetWarnings() != 3 || c.GetBreaches() != 2 || c.GetEscalations() != 1 {
			t.Errorf("totals %d/%d/%d, want 3/2/1", c.GetWarnings(), c.GetBreaches(), c.GetEscalations())
		}
	})
	t.Run("root-cause Pareto", func(t *testing.T) {
		r, err := srv.GetRootCauses(ctx, &reportingv1.GetRootCausesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		c := r.GetCauses()
		if r.GetTotal() != 3 || len(c) != 2 ||
			c[0].GetRootCause() != casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR || c[0].GetCases() != 2 || math.Abs(c[0].GetShare()-2.0/3) > 1e-9 ||
			c[1].GetRootCause() != casesv1.RootCause_ROOT_CAUSE_SYSTEM_OPERATION_ERROR || c[1].GetCases() != 1 || math.Abs(c[1].GetCumulativeShare()-1) > 1e-9 {
			t.Errorf("pareto %v", r)
		}
	})
	t.Run("heat map by local weekday and hour", func(t *testing.T) {
		r, err := srv.GetHeatmap(ctx, &reportingv1.GetHeatmapRequest{Filter: march()})
		if err != nil {
			t.Fatal(err)
		}
		got := map[[2]int32]int64{}
		for _, c := range r.GetCells() {
			got[[2]int32{c.GetWeekday(), c.GetHour()}] = c.GetCases()
		}
		want := map[[2]int32]int64{{1, 10}: 1, {2, 11}: 1, {1, 14}: 1, {4, 9}: 1}
		if !mapsEqual(got, want) || r.GetTimeZone() != "Asia/Shanghai" {
			t.Errorf("heat map %v, want %v", got, want)
		}
	})
	t.Run("trends month on month", func(t *testing.T) {
		r, err := srv.GetTrends(ctx, &reportingv1.GetTrendsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		p := r.GetPoints()
		if len(p) != 2 || !p[0].GetPeriodStart().AsTime().Equal(marchFrom) || p[0].GetFigures().GetReceived() != 4 ||
			!p[1].GetPeriodStart().AsTime().Equal(marchTo) || p[1].GetFigures().GetReceived() != 1 || p[1].GetReceivedChange() != -0.75 {
			t.Errorf("trends %v", p)
		}
		w, err := srv.GetTrends(ctx, &reportingv1.GetTrendsRequest{Period: reportingv1.Period_PERIOD_WEEK, Filter: march()})
		if err != nil {
			t.Fatal(err)
		}
		var weeks []int64
		for _, pt := range w.GetPoints() {
			weeks = append(weeks, pt.GetFigures().GetReceived())
		}
		if len(weeks) != 3 || weeks[0] != 2 || weeks[1] != 1 || weeks[2] != 1 { // weeks of 3, 10 and 17 March
			t.Errorf("weeks %v, want [2 1 1]", weeks)
		}
	})
	t.Run("compensation by tier and kind", func(t *testing.T) {
		r, err := srv.GetCompensation(ctx, &reportingv1.GetCompensationRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetRows()) != 1 || r.GetRows()[0].GetCustomerTier() != casesv1.CustomerTier_CUSTOMER_TIER_GOLD ||
			r.GetRows()[0].GetKind() != casesv1.CompensationKind_COMPENSATION_KIND_GIFT || r.GetAmountFen() != 5000 || r.GetCases() != 1 {
			t.Errorf("compensation %v", r)
		}
	})
	t.Run("at-risk list", func(t *testing.T) {
		r, err := srv.ListAtRisk(ctx, &reportingv1.ListAtRiskRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetTotal() != 1 || len(r.GetCases()) != 1 || r.GetCases()[0].GetCase().GetCaseId() != "C" || !r.GetCases()[0].GetOverdue() ||
			r.GetCases()[0].GetDeadlineKind() != answer || r.GetCases()[0].GetWarningLevel() != "red" {
			t.Errorf("at risk %v", r)
		}
	})
	t.Run("case list, paged, masked", func(t *testing.T) {
		var ids []string
		token := ""
		for range 5 {
			r, err := srv.ListCases(ctx, &reportingv1.ListCasesRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if r.GetTotal() != 5 {
				t.Errorf("total %d, want 5", r.GetTotal())
			}
			for _, c := range r.GetCases() {
				ids = append(ids, c.GetCaseId())
				if c.GetCustomerNameMasked() != "张*" || c.GetCustomerPhoneMasked() != "138****5678" {
					t.Errorf("case %s customer %q %q", c.GetCaseId(), c.GetCustomerNameMasked(), c.GetCustomerPhoneMasked())
				}
			}
			if token = r.GetNextPageToken(); token == "" {
				break
			}
		}
		if want := []string{"E", "D", "C", "B", "A"}; !slicesEqual(ids, want) {
			t.Errorf("listed %v, want %v", ids, want)
		}
		r, err := srv.ListCases(ctx, &reportingv1.ListCasesRequest{RepeatOnly: true})
		if err != nil || r.GetTotal() != 1 || len(r.GetCases()) != 1 || r.GetCases()[0].GetCaseId() != "B" {
			t.Errorf("repeats %v %v", r, err)
		}
		r, err = srv.ListCases(ctx, &reportingv1.ListCasesRequest{BreachedOnly: true, Filter: &reportingv1.ReportFilter{RegionId: "r1"}})
		if err != nil || r.GetTotal() != 2 {
			t.Errorf("breached in r1 %v %v, want B and C", r, err)
		}
		if _, err := srv.ListCases(ctx, &reportingv1.ListCasesRequest{PageToken: "bm90LWEtdG9rZW4"}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("a made-up page token: %v, want InvalidArgument", err)
		}
	})
	t.Run("case history", func(t *testing.T) {
		r, err := srv.GetCaseHistory(ctx, &reportingv1.GetCaseHistoryRequest{CaseId: "B"})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetCase().GetHandovers() != 2 || r.GetCase().GetEscalations() != 1 || !r.GetCase().GetRepeat() || r.GetCase().GetSettledAtBranch() ||
			len(r.GetEvents()) != 11 {
			t.Errorf("history of B: %v (%d events, want 11: the answer notification is not a fact)", r.GetCase(), len(r.GetEvents()))
		}
	})
}

func TestFiguresFollowTheCallersScope(t *testing.T) {
	f := newFixture(t)
	deliverDataSet(t, f)
	srv := f.server()
	received := func(ctx context.Context, flt *reportingv1.ReportFilter) (int64, error) {
		o, err := srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{Filter: flt})
		return o.GetFigures().GetReceived(), err
	}
	supervisor := caller(auth.RoleRegionalSupervisor, "", "r1")
	branchHead := caller(auth.RoleBranchHead, "b3", "r2")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		flt  *reportingv1.ReportFilter
		want int64
		code codes.Code
	}{
		{"head office sees the whole bank", headOfficeCtx, march(), 4, codes.OK},
		{"a regional supervisor sees their region only", supervisor, march(), 3, codes.OK},
		{"a regional supervisor may pick a branch of their region", supervisor, &reportingv1.ReportFilter{BranchId: "b2"}, 1, codes.OK},
		{"a regional supervisor may not pick a branch of another region", supervisor, &reportingv1.ReportFilter{BranchId: "b3"}, 0, codes.PermissionDenied},
		{"a regional supervisor may not pick another region", supervisor, &reportingv1.ReportFilter{RegionId: "r2"}, 0, codes.PermissionDenied},
		{"a branch head sees their branch only (E moved away)", branchHead, nil, 1, codes.OK},
		{"a branch head may not pick another branch", branchHead, &reportingv1.ReportFilter{BranchId: "b1"}, 0, codes.PermissionDenied},
		{"an SRE sees no case data", caller(auth.RoleSRE, "", ""), nil, 0, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := received(tt.ctx, tt.flt)
			if status.Code(err) != tt.code || got != tt.want {
				t.Errorf("received %d, %v; want %d, %v", got, err, tt.want, tt.code)
			}
		})
	}
	t.Run("a branch breakdown of a supervisor holds their branches only", func(t *testing.T) {
		r, err := srv.GetBreakdown(supervisor, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_BRANCH})
		if err != nil || len(r.GetRows()) != 2 {
			t.Errorf("rows %v, %v; want b1 and b2", r.GetRows(), err)
		}
	})
	t.Run("a case outside the caller's scope is not found", func(t *testing.T) {
		if _, err := srv.GetCaseHistory(supervisor, &reportingv1.GetCaseHistoryRequest{CaseId: "D"}); status.Code(err) != codes.NotFound {
			t.Errorf("supervisor of r1 reading D of r2: %v, want NotFound", err)
		}
		if _, err := srv.GetCaseHistory(headOfficeCtx, &reportingv1.GetCaseHistoryRequest{CaseId: "G"}); status.Code(err) != codes.NotFound {
			t.Errorf("bank-a reading bank-b's case: %v, want NotFound", err)
		}
	})
	t.Run("an SRE is refused every list", func(t *testing.T) {
		sre := caller(auth.RoleSRE, "", "")
		_, err1 := srv.ListCases(sre, &reportingv1.ListCasesRequest{})
		_, err2 := srv.ListAtRisk(sre, &reportingv1.ListAtRiskRequest{})
		_, err3 := srv.GetCaseHistory(sre, &reportingv1.GetCaseHistoryRequest{CaseId: "A"})
		for _, err := range []error{err1, err2, err3} {
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("SRE: %v, want PermissionDenied", err)
			}
		}
	})
	t.Run("a branch head's case list", func(t *testing.T) {
		r, err := srv.ListCases(branchHead, &reportingv1.ListCasesRequest{})
		if err != nil || r.GetTotal() != 1 || len(r.GetCases()) != 1 {
			t.Errorf("branch head b3: %v %v, want D only", r, err)
		}
	})
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
