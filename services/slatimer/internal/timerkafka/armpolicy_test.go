// Protects arming on a bank's versioned policy: rules by channel and customer tier, the regulatory limit from receipt, and the policy version each deadline records.
package timerkafka

import (
	"context"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestArmingFollowsTheBanksChannelAndTierRules(t *testing.T) {
	f := newFixture(t)
	p := sla.DefaultPolicy()
	p.Rules = append(p.Rules,
		sla.Rule{Kind: sla.KindAcknowledge, Clock: sla.ClockCalendar, Duration: 10 * time.Minute, Channel: "CHANNEL_ON_SITE"},
		sla.Rule{Kind: sla.KindResolution, Clock: sla.ClockWorkingDays, WorkingDays: 3, CustomerTier: "CUSTOMER_TIER_PRIVATE"},
	)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	v, err := f.store.PutPolicy(context.Background(), "bank-a", "st-head-office", p, at(t, "2026-11-01 09:00"))
	if err != nil || v != 1 {
		t.Fatalf("PutPolicy = %d, %v; want version 1", v, err)
	}
	tests := []struct {
		name              string
		channel           casesv1.Channel
		tier              casesv1.CustomerTier
		ack, resolution   string
		wantPolicyVersion int64
	}{
		{"a private-banking customer at the counter gets both the counter's acknowledgment and the tier's resolution",
			casesv1.Channel_CHANNEL_ON_SITE, casesv1.CustomerTier_CUSTOMER_TIER_PRIVATE, "2026-11-20 10:10", "2026-11-25 17:00", 1},
		{"a regular customer on the phone gets the bank's general limits",
			casesv1.Channel_CHANNEL_PHONE, casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, "2026-11-20 11:00", "2026-12-01 17:00", 1},
		{"a customer without a tier at the counter gets the counter's acknowledgment and the general resolution",
			casesv1.Channel_CHANNEL_ON_SITE, casesv1.CustomerTier_CUSTOMER_TIER_UNSPECIFIED, "2026-11-20 10:10", "2026-12-01 17:00", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := normalCase(t) // bank-a, Friday 2026-11-20 10:00
			env := c.envelope()
			env.GetCaseCreated().Channel, env.GetCaseCreated().CustomerTier = tt.channel, tt.tier
			f.mustHandle(t, env)
			if got := f.deadline(t, c, sla.KindAcknowledge).DueAt; !got.Equal(at(t, tt.ack)) {
				t.Errorf("acknowledge due %v, want %s", got.In(shanghai), tt.ack)
			}
			if got := f.deadline(t, c, sla.KindResolution).DueAt; !got.Equal(at(t, tt.resolution)) {
				t.Errorf("resolution due %v, want %s", got.In(shanghai), tt.resolution)
			}
			ds, err := f.store.Deadlines(context.Background(), c.tenant, c.id)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.PolicyVersion != tt.wantPolicyVersion {
					t.Errorf("%s records policy version %d, want %d", d.Kind, d.PolicyVersion, tt.wantPolicyVersion)
				}
			}
		})
	}
}

func TestTheRegulatoryDeadlineRunsFromReceipt(t *testing.T) {
	tests := []struct {
		name               string
		receivedAt         *timestamppb.Timestamp
		wantStart, wantDue string
	}{
		{"a letter received on Wednesday and registered on Friday counts 15 days from Wednesday",
			timestamppb.New(at(t, "2026-11-18 15:00")), "2026-11-18 15:00", "2026-12-04 00:00"},
		{"an event without a receipt time (older intake) counts from registration",
			nil, "2026-11-20 10:00", "2026-12-08 00:00"},
		{"a zero receipt time counts from registration",
			timestamppb.New(time.Time{}), "2026-11-20 10:00", "2026-12-08 00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := normalCase(t) // Friday 2026-11-20 10:00
			c.category = casesv1.Category_CATEGORY_FEE_DISPUTE
			env := c.envelope()
			env.GetCaseCreated().Channel = casesv1.Channel_CHANNEL_LETTER
			env.GetCaseCreated().ReceivedAt = tt.receivedAt
			f.mustHandle(t, env)

			d := f.deadline(t, c, sla.KindRegulatoryDecision)
			if d.Clock != string(sla.ClockCalendarDays) || !d.StartedAt.Equal(at(t, tt.wantStart)) || !d.DueAt.Equal(at(t, tt.wantDue)) {
				t.Errorf("regulatory decision on %s started %v due %v, want the calendar-days clock from %s due %s",
					d.Clock, d.StartedAt.In(shanghai), d.DueAt.In(shanghai), tt.wantStart, tt.wantDue)
			}
			if ack := f.deadline(t, c, sla.KindAcknowledge); !ack.StartedAt.Equal(c.createdAt) {
				t.Errorf("acknowledge started %v, want registration %v", ack.StartedAt.In(shanghai), c.createdAt)
			}
			if d.PolicyVersion != 0 {
				t.Errorf("armed on the default policy, records version %d", d.PolicyVersion)
			}
		})
	}
}

func TestAPickUpArmedAfterAPolicyChangeRecordsTheNewVersion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.store.PutPolicy(ctx, "bank-a", "st-head-office", sla.DefaultPolicy(), at(t, "2026-11-01 09:00")); err != nil {
		t.Fatal(err)
	}
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:00")))
	if _, err := f.store.PutPolicy(ctx, "bank-a", "st-head-office", sla.DefaultPolicy(), at(t, "2026-11-23 10:05")); err != nil {
		t.Fatal(err)
	}
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:10")))

	ds, err := f.store.Deadlines(ctx, c.tenant, c.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		want := int64(1)
		if d.Kind == string(sla.KindHandoverPickup) {
			want = 2 // counted afresh on the second hand-over, on the policy then in force
		}
		if d.PolicyVersion != want {
			t.Errorf("%s records policy version %d, want %d", d.Kind, d.PolicyVersion, want)
		}
	}
}
