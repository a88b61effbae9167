// Package reportgen makes a bank's history of cases for the reporting store
// and measures the reporting API over it: the engine of tools/reportgen. Cases
// are folded by package report from the facts the other services would have
// announced (so every derived column is what the consumer would have
// written), loaded with COPY, and counted into the rollups by the same
// recomputation the live service runs.
package reportgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config shapes the history.
type Config struct {
	Tenant   string
	Cases    int
	Regions  int
	Branches int
	// End is the end of the history (exclusive); it spans Years before it.
	End   time.Time
	Years int
	Seed  uint64
	// Batch is the number of cases per COPY.
	Batch int
}

// weighted picks from keys by weight.
type weighted struct {
	keys  []string
	cum   []float64
	total float64
}

func newWeighted(kv ...any) weighted {
	var w weighted
	for i := 0; i < len(kv); i += 2 {
		w.total += kv[i+1].(float64)
		w.keys = append(w.keys, kv[i].(string))
		w.cum = append(w.cum, w.total)
	}
	return w
}

func (w weighted) pick(r *rand.Rand) string {
	x := r.Float64() * w.total
	for i, c := range w.cum {
		if x < c {
			return w.keys[i]
		}
	}
	return w.keys[len(w.keys)-1]
}

var (
	categories = newWeighted("CATEGORY_SERVICE_ATTITUDE", 18.0, "CATEGORY_PROCESSING_DELAY", 16.0, "CATEGORY_FEE_DISPUTE", 10.0,
		"CATEGORY_BUSINESS_DISPUTE", 7.0, "CATEGORY_PRODUCT_MISUNDERSTANDING", 5.0, "CATEGORY_RULE_DISPUTE", 4.0,
		"CATEGORY_COMPENSATION_DEMAND", 2.0, "CATEGORY_FACILITIES", 3.0, "CATEGORY_SYSTEM_FAILURE", 8.0,
		"CATEGORY_EQUIPMENT_FAILURE", 9.0, "CATEGORY_IDENTITY_MISMATCH", 4.0, "CATEGORY_ACCOUNT_INFO_ERROR", 4.0,
		"CATEGORY_TRANSACTION_ERROR", 4.0, "CATEGORY_CASH_DISCREPANCY", 3.0, "CATEGORY_VOUCHER_ANOMALY", 1.0,
		"CATEGORY_SUSPECTED_FRAUD", 1.0, "CATEGORY_QUEUE_TICKET_INCIDENT", 1.0)
	channels = newWeighted("CHANNEL_ON_SITE", 55.0, "CHANNEL_OPINION_BOOK", 5.0, "CHANNEL_LETTER", 2.0, "CHANNEL_PHONE", 18.0,
		"CHANNEL_ONLINE", 12.0, "CHANNEL_HOTLINE", 6.0, "CHANNEL_REGULATOR_REFERRAL", 2.0)
	severities = newWeighted("SEVERITY_NORMAL", 90.0, "SEVERITY_COMPLEX", 9.0, "SEVERITY_MAJOR", 1.0)
	tiers      = newWeighted("CUSTOMER_TIER_REGULAR", 80.0, "CUSTOMER_TIER_GOLD", 15.0, "CUSTOMER_TIER_PRIVATE", 5.0)
	causes     = newWeighted("ROOT_CAUSE_MANUAL_ENTRY_ERROR", 43.0, "ROOT_CAUSE_SYSTEM_OPERATION_ERROR", 28.0,
		"ROOT_CAUSE_CUSTOMER_INFO_CHECK_LAPSE", 19.0, "ROOT_CAUSE_OTHER", 10.0)
	// Cases by local hour: the counters' day, peaking 10:00-11:00 at 1.8x.
	hours = newWeighted("8", 2.0, "9", 8.0, "10", 14.0, "11", 12.0, "12", 7.0, "13", 7.0, "14", 9.0, "15", 9.0, "16", 8.0,
		"17", 4.0, "18", 2.0, "19", 1.0, "20", 1.0)
	compKinds = map[string]string{"CUSTOMER_TIER_REGULAR": "COMPENSATION_KIND_PHONE_CREDIT", "CUSTOMER_TIER_GOLD": "COMPENSATION_KIND_ADVISER_SERVICE",
		"CUSTOMER_TIER_PRIVATE": "COMPENSATION_KIND_WEALTH_REVIEW"}
	levels = []string{"first_receiver", "complaint_manager", "branch_head", "regional"}
)

// Case folds the history of case i: its creation and every fact the other
// services would have announced, whatever the order, into one record.
func Case(cfg Config, i int, loc *time.Location) report.CaseRecord {
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	span := cfg.End.Sub(cfg.End.AddDate(-cfg.Years, 0, 0))
	day := cfg.End.Add(-time.Duration(r.Int64N(int64(span)))).In(loc)
	var hour int
	_, _ = fmt.Sscan(hours.pick(r), &hour)
	at := time.Date(day.Year(), day.Month(), day.Day(), hour, r.IntN(60), r.IntN(60), 0, loc).UTC()
	branch := r.IntN(cfg.Branches)
	sev, tier := severities.pick(r), tiers.pick(r)
	rec := report.CaseRecord{TenantID: cfg.Tenant, CaseID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%s/%d/%d", cfg.Tenant, cfg.Seed, i)).String()}
	apply := func(f report.Fact) { _ = rec.Apply(f) } // every fact here is well-formed
	apply(report.CaseOpened{CaseNumber: fmt.Sprintf("%s%06d", at.In(loc).Format("20060102"), i%1000000),
		BranchID: fmt.Sprintf("br-%03d", branch), RegionID: fmt.Sprintf("rg-%02d", branch%cfg.Regions),
		Channel: channels.pick(r), Category: categories.pick(r), Severity: sev, CustomerTier: tier, Status: report.StatusReported,
		TimeZone: loc.String(), CustomerNameMasked: "张*", CustomerPhoneMasked: fmt.Sprintf("1%02d****%04d", 30+r.IntN(60), r.IntN(10000)),
		Repeat: r.IntN(20) == 0, CreatedAt: at.Add(time.Duration(r.IntN(300)) * time.Second), ReceivedAt: at})
	answerDue := 24 * time.Hour
	if sev != "SEVERITY_NORMAL" {
		answerDue = 5 * 24 * time.Hour
	}
	apply(report.DeadlinesArmed{Deadlines: []report.ArmedDeadline{
		{Kind: report.KindAcknowledge, DueAt: at.Add(time.Hour)},
		{Kind: report.KindFirstAnswer, DueAt: at.Add(answerDue)},
		{Kind: report.KindResolution, DueAt: at.Add(7 * 24 * time.Hour)},
		{Kind: report.KindRegulatory, DueAt: at.Add(15 * 24 * time.Hour)},
	}})
	apply(report.OwnerAssigned{OwnerID: fmt.Sprintf("st-%03d-1", branch), Kind: "assign", Level: "first_receiver", At: at.Add(time.Minute)})
	ackAfter := time.Duration(r.ExpFloat64()*25) * time.Minute
	now := cfg.End
	if at.Add(ackAfter).Before(now) {
		apply(report.CustomerAcknowledged{At: at.Add(ackAfter)})
	}
	if ackAfter > time.Hour && at.Add(time.Hour).Before(now) {
		apply(report.DeadlineMissed{Kind: report.KindAcknowledge, DueAt: at.Add(time.Hour)})
	}
	level := 0
	for h := 0; h < 3 && r.IntN(4) == 0; h++ {
		kind := "transfer"
		if r.IntN(3) == 0 && level < len(levels)-1 {
			kind, level = "escalate", level+1
		}
		apply(report.OwnerAssigned{OwnerID: fmt.Sprintf("st-%03d-%d", branch, h+2), Kind: kind, Level: levels[level], At: at.Add(time.Duration(h+1) * time.Hour)})
	}
	// Handling time: log-normal around a few hours (normal) or days (complex).
	median := 3.0
	if sev != "SEVERITY_NORMAL" {
		median = 40
	}
	handling := time.Duration(median*math.Exp(r.NormFloat64()*0.9)*3600) * time.Second
	answered := at.Add(handling)
	if r.IntN(100) < 3 && at.Add(30*time.Minute).Before(now) { // withdrawn
		apply(report.StatusChanged{Action: "withdraw", Status: report.StatusWithdrawn, At: at.Add(30 * time.Minute)})
		return rec
	}
	if handling > answerDue/2 && at.Add(answerDue/2).Before(now) {
		apply(report.DeadlineWarned{Kind: report.KindFirstAnswer, Level: "yellow"})
	}
	if handling > answerDue*9/10 && at.Add(answerDue*9/10).Before(now) {
		apply(report.DeadlineWarned{Kind: report.KindFirstAnswer, Level: "red"})
	}
	if handling > answerDue && at.Add(answerDue).Before(now) {
		apply(report.DeadlineMissed{Kind: report.KindFirstAnswer, DueAt: at.Add(answerDue)})
		if r.IntN(2) == 0 {
			apply(report.OwnerAssigned{OwnerID: "rs-1", Kind: "breach", Level: "regional", At: at.Add(answerDue)})
		}
	}
	if !answered.Before(now) {
		return rec // still open
	}
	st := report.StatusChanged{Action: "answer", Status: "CASE_STATUS_ANSWERED", At: answered, RootCause: causes.pick(r)}
	if r.IntN(10) == 0 {
		st.Compensation = report.Compensation{Kind: compKinds[tier], Tier: tier, AmountFen: int64(1000 * (1 + r.IntN(50)))}
	}
	apply(st)
	visit := answered.Add(time.Duration(1+r.IntN(48)) * time.Hour)
	if !visit.Before(now) {
		return rec
	}
	sat := 5 - int(math.Min(4, math.Abs(r.NormFloat64())*0.9))
	apply(report.StatusChanged{Action: "recordReturnVisit", Status: "CASE_STATUS_FOLLOWING_UP", At: visit, Satisfaction: sat})
	closed := visit.Add(time.Duration(1+r.IntN(24)) * time.Hour)
	// Most answered cases close within days; one in ten waits for more
	// follow-up, which old cases have long since had.
	if r.IntN(10) == 0 {
		closed = closed.Add(time.Duration(1+r.IntN(30*24)) * time.Hour)
	}
	if closed.Before(now) {
		apply(report.StatusChanged{Action: "close", Status: report.StatusClosed, At: closed})
	}
	return rec
}

// Load writes cfg.Cases cases into the store with COPY and counts them into
// the rollups as the live worker does. progress is called after every batch.
func Load(ctx context.Context, store *reportpg.Store, cfg Config, progress func(done int)) error {
	loc := store.Zone
	if loc == nil {
		loc = time.UTC
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 20000
	}
	recs := make([]report.CaseRecord, 0, batch)
	for i := 0; i < cfg.Cases; i++ {
		recs = append(recs, Case(cfg, i, loc))
		if len(recs) == batch || i == cfg.Cases-1 {
			if err := store.BulkLoad(ctx, recs, cfg.End); err != nil {
				return err
			}
			recs = recs[:0]
			if progress != nil {
				progress(i + 1)
			}
		}
	}
	if err := store.DrainRollups(ctx); err != nil {
		return fmt.Errorf("count the rollups: %w", err)
	}
	return nil
}

// NewStore is the reporting store on pool, counting in zone loc (for
// callers outside the reporting module).
func NewStore(pool *pgxpool.Pool, loc *time.Location) *reportpg.Store {
	return &reportpg.Store{Pool: pool, Zone: loc}
}
