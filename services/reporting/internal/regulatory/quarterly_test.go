package regulatory_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"github.com/xuri/excelize/v2"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(n string) *time.Location {
	l, err := time.LoadLocation(n)
	if err != nil {
		panic(err)
	}
	return l
}

func TestQuarterBoundsAreShanghaiMidnights(t *testing.T) {
	for _, c := range []struct {
		year, q  int
		from, to string
	}{
		{2026, 1, "2025-12-31T16:00:00Z", "2026-03-31T16:00:00Z"},
		{2026, 2, "2026-03-31T16:00:00Z", "2026-06-30T16:00:00Z"},
		{2026, 4, "2026-09-30T16:00:00Z", "2026-12-31T16:00:00Z"},
	} {
		from, to, err := regulatory.QuarterBounds(c.year, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := from.UTC().Format(time.RFC3339); got != c.from {
			t.Errorf("%d-Q%d from = %s, want %s", c.year, c.q, got, c.from)
		}
		if got := to.UTC().Format(time.RFC3339); got != c.to {
			t.Errorf("%d-Q%d to = %s, want %s", c.year, c.q, got, c.to)
		}
	}
	var fe *regulatory.FieldError
	if _, _, err := regulatory.QuarterBounds(2026, 5); !errors.As(err, &fe) || fe.Field != "quarter" {
		t.Errorf("quarter 5: %v", err)
	}
	if _, _, err := regulatory.QuarterBounds(1999, 1); !errors.As(err, &fe) || fe.Field != "year" {
		t.Errorf("year 1999: %v", err)
	}
}

func TestCalendarDaysCountFromTheDayAfterReceiptInShanghai(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		received, decided string
		want              int
	}{
		{"2026-03-01 09:00", "2026-03-01 17:00", 0},
		{"2026-03-01 23:30", "2026-03-02 00:10", 1},  // 40 minutes, but the next day
		{"2026-03-01 00:10", "2026-03-16 23:50", 15}, // the 15th day: within 15
		{"2026-03-01 09:00", "2026-03-17 08:00", 16},
		{"2026-02-27 10:00", "2026-03-29 10:00", 30}, // over the end of February
	} {
		if got := regulatory.CalendarDays(at(c.received), at(c.decided), shanghai); got != c.want {
			t.Errorf("%s → %s = %d days, want %d", c.received, c.decided, got, c.want)
		}
	}
}

// groups is a small fixed set: 10 complaints.
var groups = []regulatory.Group{
	// Fee disputes on site: 3 decided within 15 days (cause manual entry), one extended.
	{Category: "CATEGORY_FEE_DISPUTE", Channel: "CHANNEL_ON_SITE", RootCause: "ROOT_CAUSE_MANUAL_ENTRY_ERROR", Decided: true, DecidedDays: 3, Cases: 2},
	{Category: "CATEGORY_FEE_DISPUTE", Channel: "CHANNEL_ON_SITE", RootCause: "ROOT_CAUSE_MANUAL_ENTRY_ERROR", Decided: true, DecidedDays: 15, Extended: true, Cases: 1},
	// A fee dispute by phone decided on day 16, under review now.
	{Category: "CATEGORY_FEE_DISPUTE", Channel: "CHANNEL_PHONE", RootCause: "ROOT_CAUSE_FEE_RULE", Decided: true, DecidedDays: 16, UnderReview: true, Cases: 1},
	// Service attitude by phone: one on day 45, one after 60, two pending (one extended), one withdrawn.
	{Category: "CATEGORY_SERVICE_ATTITUDE", Channel: "CHANNEL_PHONE", RootCause: "ROOT_CAUSE_SERVICE_ATTITUDE", Decided: true, DecidedDays: 45, Cases: 1},
	{Category: "CATEGORY_SERVICE_ATTITUDE", Channel: "CHANNEL_PHONE", RootCause: "ROOT_CAUSE_SERVICE_ATTITUDE", Decided: true, DecidedDays: 61, Cases: 1},
	{Category: "CATEGORY_SERVICE_ATTITUDE", Channel: "CHANNEL_PHONE", Cases: 1},
	{Category: "CATEGORY_SERVICE_ATTITUDE", Channel: "CHANNEL_PHONE", Extended: true, Cases: 1},
	{Category: "CATEGORY_SERVICE_ATTITUDE", Channel: "CHANNEL_LETTER", Withdrawn: true, Cases: 1},
	// A regulator's referral about facilities, decided the same day.
	{Category: "CATEGORY_FACILITIES", Channel: "CHANNEL_REGULATOR_REFERRAL", RootCause: "ROOT_CAUSE_OTHER", Decided: true, Cases: 1},
}

func report(t *testing.T) regulatory.Report {
	t.Helper()
	from, to, err := regulatory.QuarterBounds(2026, 1)
	if err != nil {
		t.Fatal(err)
	}
	return regulatory.Fold(regulatory.Report{Tenant: "bank", Year: 2026, Quarter: 1, From: from, To: to, Zone: regulatory.Zone,
		Region: "rg-east", AsOf: time.Date(2026, 4, 2, 2, 0, 0, 0, time.UTC)}, groups)
}

func TestFoldCountsByHand(t *testing.T) {
	r := report(t)
	want := regulatory.Figures{Received: 10, Decided: 7, Within15: 4, Within30: 5, Within60: 6, After60: 1,
		Pending: 2, Extended: 2, UnderReview: 1, Withdrawn: 1}
	if r.Total != want {
		t.Errorf("total = %+v\nwant    %+v", r.Total, want)
	}
	lines := []string{}
	for _, row := range r.ByBusinessLine {
		lines = append(lines, row.Key)
	}
	// Enum order: service attitude (100), fee dispute (102), facilities (107).
	if strings.Join(lines, ",") != "CATEGORY_SERVICE_ATTITUDE,CATEGORY_FEE_DISPUTE,CATEGORY_FACILITIES" {
		t.Errorf("business lines = %v", lines)
	}
	fee := r.ByBusinessLine[1].Figures
	if fee != (regulatory.Figures{Received: 4, Decided: 4, Within15: 3, Within30: 4, Within60: 4, Extended: 1, UnderReview: 1}) {
		t.Errorf("fee disputes = %+v", fee)
	}
	phone := r.ByChannel[2]
	if phone.Key != "CHANNEL_PHONE" || phone.Label != "电话" || phone.Received != 5 || phone.Pending != 2 || phone.After60 != 1 {
		t.Errorf("by channel = %+v", r.ByChannel)
	}
	unknown := r.ByRootCause[0]
	if unknown.Key != regulatory.RootCauseUnknown || unknown.Received != 3 || unknown.Withdrawn != 1 {
		t.Errorf("root cause not yet known = %+v", unknown)
	}
}

func TestScope(t *testing.T) {
	ho := auth.Principal{Tenant: "bank", Role: auth.RoleHeadOffice}
	east := auth.Principal{Tenant: "bank", Role: auth.RoleRegionalSupervisor, Region: "rg-east"}
	pudong := auth.Principal{Tenant: "bank", Role: auth.RoleBranchHead, Branch: "br-pudong"}
	for _, c := range []struct {
		name           string
		p              auth.Principal
		req            regulatory.Request
		region, branch string
		denied         bool
	}{
		{"head office reads the bank", ho, regulatory.Request{}, "", "", false},
		{"head office narrows to a region", ho, regulatory.Request{Region: "rg-north"}, "rg-north", "", false},
		{"a supervisor reads their region", east, regulatory.Request{}, "rg-east", "", false},
		{"a supervisor narrows to a branch, keeping the region", east, regulatory.Request{Branch: "br-pudong"}, "rg-east", "br-pudong", false},
		{"a supervisor may not read another region", east, regulatory.Request{Region: "rg-north"}, "", "", true},
		{"a branch head reads their branch", pudong, regulatory.Request{}, "", "br-pudong", false},
		{"a branch head may not read another branch", pudong, regulatory.Request{Branch: "br-xuhui"}, "", "", true},
		{"an SRE reads nothing", auth.Principal{Tenant: "bank", Role: auth.RoleSRE}, regulatory.Request{}, "", "", true},
		{"a teller reads nothing", auth.Principal{Tenant: "bank", Role: auth.RoleTeller, Branch: "br-pudong"}, regulatory.Request{}, "", "", true},
		{"a bank system reads nothing", auth.Principal{Tenant: "bank", Role: auth.RoleBankSystem}, regulatory.Request{}, "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			region, branch, err := regulatory.Scope(c.p, c.req)
			if c.denied {
				if !errors.Is(err, regulatory.ErrPermissionDenied) {
					t.Errorf("err = %v, want permission denied", err)
				}
				return
			}
			if err != nil || region != c.region || branch != c.branch {
				t.Errorf("scope = %q %q %v, want %q %q", region, branch, err, c.region, c.branch)
			}
		})
	}
}

func TestCSVIsExactlyTheTable(t *testing.T) {
	var b bytes.Buffer
	if err := regulatory.WriteCSV(&b, report(t)); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff" + strings.Join([]string{
		"维度,项目,代码,受理量,已办结,15日内办结,30日内办结,60日内办结,超60日办结,未办结,延期办理,核查中,客户撤回",
		"合计,全部,,10,7,4,5,6,1,2,2,1,1",
		"业务类别,服务态度,CATEGORY_SERVICE_ATTITUDE,5,2,0,0,1,1,2,1,0,1",
		"业务类别,手续费争议,CATEGORY_FEE_DISPUTE,4,4,3,4,4,0,0,1,1,0",
		"业务类别,服务设施,CATEGORY_FACILITIES,1,1,1,1,1,0,0,0,0,0",
		"受理渠道,现场口头,CHANNEL_ON_SITE,3,3,3,3,3,0,0,1,0,0",
		"受理渠道,信函,CHANNEL_LETTER,1,0,0,0,0,0,0,0,0,1",
		"受理渠道,电话,CHANNEL_PHONE,5,3,0,1,2,1,2,1,1,0",
		"受理渠道,监管转办,CHANNEL_REGULATOR_REFERRAL,1,1,1,1,1,0,0,0,0,0",
		"投诉原因,尚未认定,ROOT_CAUSE_UNSPECIFIED,3,0,0,0,0,0,2,1,0,1",
		"投诉原因,手工录入错误,ROOT_CAUSE_MANUAL_ENTRY_ERROR,3,3,3,3,3,0,0,1,0,0",
		"投诉原因,服务态度,ROOT_CAUSE_SERVICE_ATTITUDE,2,2,0,0,1,1,0,0,0,0",
		"投诉原因,收费规定,ROOT_CAUSE_FEE_RULE,1,1,0,1,1,0,0,0,1,0",
		"投诉原因,其他,ROOT_CAUSE_OTHER,1,1,1,1,1,0,0,0,0,0",
	}, "\r\n") + "\r\n"
	if got := b.String(); got != want {
		t.Errorf("CSV =\n%s\nwant\n%s", got, want)
	}
}

func TestXLSXReadsBackWithASheetPerBreakdown(t *testing.T) {
	var b bytes.Buffer
	if err := regulatory.WriteXLSX(&b, report(t)); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "汇总,按业务类别,按受理渠道,按投诉原因" {
		t.Errorf("sheets = %s", got)
	}
	cell := func(sheet, ref string) string {
		v, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ sheet, ref, want string }{
		{"汇总", "A1", "2026年第1季度客户投诉统计"},
		{"汇总", "B2", "分行 rg-east"},
		{"汇总", "B3", "2026-01-01 至 2026-03-31（Asia/Shanghai）"},
		{"汇总", "B4", "2026-04-02 10:00"},
		{"汇总", "D6", "15日内办结"},
		{"汇总", "A7", "合计"},
		{"汇总", "B7", "10"},
		{"汇总", "K7", "1"},
		{"按业务类别", "A1", "项目"},
		{"按业务类别", "A3", "手续费争议"},
		{"按业务类别", "B3", "CATEGORY_FEE_DISPUTE"},
		{"按业务类别", "E3", "3"},
		{"按受理渠道", "A4", "电话"},
		{"按受理渠道", "I4", "2"},
		{"按投诉原因", "A2", "尚未认定"},
		{"按投诉原因", "L2", "1"},
	} {
		if got := cell(c.sheet, c.ref); got != c.want {
			t.Errorf("%s!%s = %q, want %q", c.sheet, c.ref, got, c.want)
		}
	}
	// Figures are numbers, not text.
	if typ, err := f.GetCellType("汇总", "B7"); err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("B7 type = %v, %v; want a number", typ, err)
	}
	rows, err := f.GetRows("按投诉原因")
	if err != nil || len(rows) != 6 {
		t.Errorf("root-cause sheet has %d rows (%v), want a heading and 5", len(rows), err)
	}
}
