package cases

import (
	"errors"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

var (
	now    = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	branch = Branch{ID: "br-1", Region: "rg-1", Staff: []string{"teller-1", "cm-1"}, ComplaintManager: "cm-1"}
	system = auth.Principal{Tenant: "bank-a", Subject: "teller-terminal", Role: auth.RoleBankSystem}
)

func newCase() New {
	return New{Branch: "br-1", Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL",
		Summary: "fee", OccurredAt: now.Add(-time.Hour), Customer: Customer{Name: "张三"}}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*New)
		caller    auth.Principal
		wantField string
		wantErr   error
		check     func(t *testing.T, c Case)
	}{
		{name: "a bank system's case gets defaults for tier, language, zone and calendar", caller: system,
			check: func(t *testing.T, c Case) {
				if c.Customer.Tier != "CUSTOMER_TIER_REGULAR" || c.Customer.Language != "zh-CN" || c.TimeZone != "Asia/Shanghai" || c.CalendarID != "cn" {
					t.Errorf("defaults not applied: %+v", c)
				}
				if c.Status != StatusReported || c.ReportedBy != "" || c.Tenant != "bank-a" {
					t.Errorf("unexpected case %+v", c)
				}
			}},
		{name: "a teller registering a case is its first responder",
			caller: auth.Principal{Tenant: "bank-a", Subject: "teller-1", Role: auth.RoleTeller, Branch: "br-1"},
			check: func(t *testing.T, c Case) {
				if c.ReportedBy != "teller-1" {
					t.Errorf("reportedBy = %q", c.ReportedBy)
				}
			}},
		{name: "a reporter who does not work at the branch is refused", caller: system,
			edit: func(n *New) { n.ReportedBy = "stranger" }, wantField: "reportedBy"},
		{name: "an occurrence in the future is refused", caller: system,
			edit: func(n *New) { n.OccurredAt = now.Add(time.Hour) }, wantField: "occurredAt"},
		{name: "a little clock skew is tolerated", caller: system,
			edit: func(n *New) { n.OccurredAt = now.Add(time.Minute) }},
		{name: "a teller of another branch may not register here",
			caller:    auth.Principal{Tenant: "bank-a", Subject: "t9", Role: auth.RoleTeller, Branch: "br-9"},
			wantField: "branchId"},
		{name: "an SRE may not register cases", caller: auth.Principal{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE},
			wantErr: ErrForbidden},
		{name: "SMS chosen without a phone is refused", caller: system,
			edit: func(n *New) { n.Customer.PreferredChannel = "CONTACT_CHANNEL_SMS" }, wantField: "customer.preferredChannel"},
		{name: "e-mail chosen without an address is refused", caller: system,
			edit:      func(n *New) { n.Customer.PreferredChannel = "CONTACT_CHANNEL_EMAIL"; n.Customer.Phone = "13812345678" },
			wantField: "customer.preferredChannel"},
		{name: "the chosen channel is kept with the customer", caller: system,
			edit: func(n *New) { n.Customer.PreferredChannel = "CONTACT_CHANNEL_SMS"; n.Customer.Phone = "13812345678" },
			check: func(t *testing.T, c Case) {
				if c.Customer.PreferredChannel != "CONTACT_CHANNEL_SMS" || c.Customer.Masked().PreferredChannel != "CONTACT_CHANNEL_SMS" {
					t.Errorf("preferred channel %q", c.Customer.PreferredChannel)
				}
			}},
		{name: "no channel chosen is kept as none", caller: system,
			edit: func(n *New) { n.Customer.PreferredChannel = "CONTACT_CHANNEL_UNSPECIFIED" },
			check: func(t *testing.T, c Case) {
				if c.Customer.PreferredChannel != "" {
					t.Errorf("preferred channel %q", c.Customer.PreferredChannel)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newCase()
			if tt.edit != nil {
				tt.edit(&in)
			}
			c, err := Prepare(in, branch, tt.caller, now)
			var fe *FieldError
			switch {
			case tt.wantField != "":
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want field error on %s", err, tt.wantField)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
			}
		})
	}
}

func TestViewMasksCustomerForRolesWithoutNeed(t *testing.T) {
	c := Case{Tenant: "bank-a", Branch: "br-1", Region: "rg-1",
		Customer: Customer{Name: "张三", IDNumber: "110101199003071234", Phone: "13812345678", Email: "zs@example.com"}}
	teller := auth.Principal{Tenant: "bank-a", Subject: "t1", Role: auth.RoleTeller, Branch: "br-1"}
	v, err := View(c, teller)
	if err != nil {
		t.Fatal(err)
	}
	if v.Customer.IDNumber != "110***********1234" || v.Customer.Phone != "138****5678" || v.Customer.Name != "张*" {
		t.Errorf("teller sees %+v", v.Customer)
	}
	cm := auth.Principal{Tenant: "bank-a", Subject: "cm", Role: auth.RoleComplaintManager, Branch: "br-1"}
	if v, _ := View(c, cm); v.Customer.IDNumber != "110101199003071234" {
		t.Errorf("complaint manager sees %q", v.Customer.IDNumber)
	}
	for _, p := range []auth.Principal{
		{Tenant: "bank-b", Subject: "x", Role: auth.RoleBankSystem},
		{Tenant: "bank-a", Subject: "t2", Role: auth.RoleTeller, Branch: "br-2"},
		{Tenant: "bank-a", Subject: "s", Role: auth.RoleRegionalSupervisor, Region: "rg-2"},
		{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE},
	} {
		if _, err := View(c, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v sees the case: %v", p, err)
		}
	}
}

func TestNumberUsesBranchLocalDate(t *testing.T) {
	late := time.Date(2026, 11, 21, 17, 30, 0, 0, time.UTC) // 01:30 on the 22nd in Shanghai
	if got := Number(late, "Asia/Shanghai", 42); got != "CD-20261122-000042" {
		t.Errorf("got %s", got)
	}
}

func TestACaseNobodyCouldOwnIsRefused(t *testing.T) {
	noManager := Branch{ID: "br-1", Region: "rg-1", Staff: []string{"teller-1"}}
	_, err := Prepare(newCase(), noManager, system, now)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "reportedBy" {
		t.Fatalf("err = %v, want a field error on reportedBy", err)
	}
	in := newCase()
	in.ReportedBy = "teller-1"
	if _, err := Prepare(in, noManager, system, now); err != nil {
		t.Fatalf("a case with a reporter at such a branch was refused: %v", err)
	}
}

func TestPrepareRefusesControlCharactersNamingTheField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*New)
		field string
	}{
		{"a NUL in the description", func(n *New) { n.Description = "x\x00y" }, "description"},
		{"an escape sequence in the summary", func(n *New) { n.Summary = "ok\x1b[2Jforged" }, "summary"},
		{"a newline in the customer's name", func(n *New) { n.Customer.Name = "王\n先生" }, "customer.name"},
		{"a DEL in the phone", func(n *New) { n.Customer.Phone = "138\x7f12345678" }, "customer.phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			in := newCase()
			tt.edit(&in)
			_, err := Prepare(in, branch, system, now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Prepare = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
	in := newCase()
	in.Description = "第一行\n第二行\twith a tab"
	if _, err := Prepare(in, branch, system, now); err != nil {
		t.Fatalf("line breaks and tabs in the description were refused: %v", err)
	}
}

func TestOccurredAtMustBeWithinTheHorizon(t *testing.T) {
	in := newCase()
	in.OccurredAt = now.Add(-OccurredHorizon - time.Hour)
	var fe *FieldError
	if _, err := Prepare(in, branch, system, now); !errors.As(err, &fe) || fe.Field != "occurredAt" {
		t.Fatalf("a case of 366 days ago: %v, want a FieldError on occurredAt", err)
	}
	in.OccurredAt = now.Add(-OccurredHorizon + time.Hour)
	if _, err := Prepare(in, branch, system, now); err != nil {
		t.Fatalf("a case of 364 days ago: %v", err)
	}
}

func TestReceivedAtIsBetweenOccurrenceAndRegistration(t *testing.T) {
	in := newCase()
	c, err := Prepare(in, branch, system, now)
	if err != nil || !c.ReceivedAt.Equal(now) {
		t.Fatalf("without receivedAt: %v %v, want received at registration", c.ReceivedAt, err)
	}
	in.ReceivedAt = in.OccurredAt.Add(10 * time.Minute)
	if c, err := Prepare(in, branch, system, now); err != nil || !c.ReceivedAt.Equal(in.ReceivedAt) {
		t.Fatalf("received 10 minutes after it happened: %v %v", c.ReceivedAt, err)
	}
	for name, at := range map[string]time.Time{"before it happened": in.OccurredAt.Add(-time.Minute), "in the future": now.Add(time.Hour)} {
		in.ReceivedAt = at
		var fe *FieldError
		if _, err := Prepare(in, branch, system, now); !errors.As(err, &fe) || fe.Field != "receivedAt" {
			t.Errorf("received %s: %v, want a FieldError on receivedAt", name, err)
		}
	}
}
