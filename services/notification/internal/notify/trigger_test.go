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
		{"the first-answer deadline is promised", []Deadline{{"DEADLINE_KIND_ACKNOWLEDGE", t0}, {KindResolution, resolution}, {KindFirstAnswer, answer}},
			"Asia/Urumqi", true, answer, "Asia/Urumqi"},
		{"without a first answer the resolution deadline is promised", []Deadline{{KindResolution, resolution}},
			"Asia/Shanghai", true, resolution, "Asia/Shanghai"},
		{"an event without a zone is read in China's", []Deadline{{KindFirstAnswer, answer}}, "", true, answer, DefaultTimeZone},
		{"deadlines the customer is not told about call for no message", []Deadline{{"DEADLINE_KIND_HANDOVER_PICKUP", answer}},
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
		})
	}
}

func TestAcknowledgmentForAnUnknownZoneIsAnError(t *testing.T) {
	if _, _, err := AcknowledgmentFor([]Deadline{{KindFirstAnswer, t0}}, "Nowhere/Special"); err == nil {
		t.Fatal("want an error")
	}
}
