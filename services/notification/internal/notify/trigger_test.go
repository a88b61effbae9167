package notify

import (
	"testing"
	"time"
)

func TestAcknowledgmentFor(t *testing.T) {
	answer := t0.Add(48 * time.Hour)
	resolution := t0.Add(15 * 24 * time.Hour)
	tests := []struct {
		name      string
		deadlines []Deadline
		zone      string
		wantOK    bool
		want      time.Time
		wantZone  string
	}{
		{"the first-answer deadline is promised", []Deadline{{Kind: "DEADLINE_KIND_ACKNOWLEDGE", DueAt: t0}, {Kind: KindResolution, DueAt: resolution}, {Kind: KindFirstAnswer, DueAt: answer}},
			"Asia/Urumqi", true, answer, "Asia/Urumqi"},
		{"without a first answer the resolution deadline is promised", []Deadline{{Kind: KindResolution, DueAt: resolution}},
			"Asia/Shanghai", true, resolution, "Asia/Shanghai"},
		{"an event without a zone is read in China's", []Deadline{{Kind: KindFirstAnswer, DueAt: answer}}, "", true, answer, DefaultTimeZone},
		{"deadlines the customer is not told about call for no message", []Deadline{{Kind: "DEADLINE_KIND_HANDOVER_PICKUP", DueAt: answer}},
			"Asia/Shanghai", false, time.Time{}, ""},
		{"no deadlines call for no message", nil, "Asia/Shanghai", false, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, ok, err := AcknowledgmentFor(tt.deadlines, tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || !ack.ExpectedAnswerAt.Equal(tt.want) || ack.TimeZone != tt.wantZone {
				t.Fatalf("got %+v, %v; want %v in %q, %v", ack, ok, tt.want, tt.wantZone, tt.wantOK)
			}
			for _, d := range tt.deadlines {
				if ok && d.DueAt.Equal(tt.want) && ack.Kind != d.Kind {
					t.Errorf("promise kind %q, want %q", ack.Kind, d.Kind)
				}
			}
		})
	}
}

func TestAcknowledgmentForAnUnknownZoneIsAnError(t *testing.T) {
	if _, _, err := AcknowledgmentFor([]Deadline{{Kind: KindFirstAnswer, DueAt: t0}}, "Nowhere/Special"); err == nil {
		t.Fatal("want an error")
	}
}

func TestAProvisionalDeadlineMakesAProvisionalPromise(t *testing.T) {
	ack, ok, err := AcknowledgmentFor([]Deadline{{Kind: KindFirstAnswer, DueAt: t0, Provisional: true}}, "")
	if err != nil || !ok || !ack.Provisional || ack.Kind != KindFirstAnswer {
		t.Fatalf("got %+v, %v, %v", ack, ok, err)
	}
}

func TestDateMoveFor(t *testing.T) {
	from := time.Date(2026, 12, 31, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	to := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	recount := func(kind string, from, to time.Time) Recount {
		return Recount{Kind: kind, OldDueAt: from, NewDueAt: to, Provisional: true, Reason: ChangeCalendarYearLoaded, TimeZone: "Asia/Shanghai"}
	}
	tests := []struct {
		name    string
		promise Promise
		recount Recount
		wantOK  bool
	}{
		{"the promised kind moved", Promise{Kind: KindFirstAnswer, DueAt: from}, recount(KindFirstAnswer, from, to), true},
		{"it moved earlier", Promise{Kind: KindFirstAnswer, DueAt: to}, recount(KindFirstAnswer, to, from), true},
		{"the promise was re-armed since: the kind still decides", Promise{Kind: KindResolution, DueAt: from.Add(-time.Hour)},
			recount(KindResolution, from, to), true},
		{"another kind moved", Promise{Kind: KindFirstAnswer, DueAt: from}, recount(KindResolution, from, to), false},
		{"a promise without a kind: the told time moved", Promise{DueAt: from}, recount(KindResolution, from, to), true},
		{"a promise without a kind: another time moved", Promise{DueAt: from}, recount(KindResolution, from.Add(time.Hour), to), false},
		{"a lapsed promise", Promise{Kind: KindFirstAnswer, DueAt: from, Lapsed: true}, recount(KindFirstAnswer, from, to), false},
		{"the same local minute", Promise{Kind: KindFirstAnswer, DueAt: from}, recount(KindFirstAnswer, from, from.Add(59*time.Second)), false},
		{"a minute later", Promise{Kind: KindFirstAnswer, DueAt: from}, recount(KindFirstAnswer, from, from.Add(time.Minute)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok, err := DateMoveFor(tt.promise, tt.recount)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && (!m.PreviousAnswerAt.Equal(tt.recount.OldDueAt) || !m.ExpectedAnswerAt.Equal(tt.recount.NewDueAt) ||
				m.Kind != tt.recount.Kind || !m.Provisional || m.Reason != ChangeCalendarYearLoaded || m.TimeZone != "Asia/Shanghai") {
				t.Errorf("move = %+v", m)
			}
		})
	}
}

func TestDateMoveForReadsAMissingZoneAsChinas(t *testing.T) {
	m, ok, err := DateMoveFor(Promise{Kind: KindFirstAnswer}, Recount{Kind: KindFirstAnswer, OldDueAt: t0, NewDueAt: t0.Add(24 * time.Hour)})
	if err != nil || !ok || m.TimeZone != DefaultTimeZone {
		t.Fatalf("got %+v, %v, %v", m, ok, err)
	}
}

func TestAMalformedRecountIsAnError(t *testing.T) {
	good := Recount{Kind: KindFirstAnswer, OldDueAt: t0, NewDueAt: t0.Add(time.Hour), TimeZone: "Asia/Shanghai"}
	for name, mutate := range map[string]func(*Recount){
		"no kind":         func(r *Recount) { r.Kind = "" },
		"no old due time": func(r *Recount) { r.OldDueAt = time.Time{} },
		"no new due time": func(r *Recount) { r.NewDueAt = time.Time{} },
		"an unknown zone": func(r *Recount) { r.TimeZone = "Nowhere/Special" },
	} {
		r := good
		mutate(&r)
		if _, _, err := DateMoveFor(Promise{Kind: KindFirstAnswer}, r); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
