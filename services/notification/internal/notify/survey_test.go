package notify

import (
	"strings"
	"testing"
	"time"
)

func TestASurveyMessageCarriesItsLinkAndNeedsOne(t *testing.T) {
	c := Content{CaseNumber: "CD-20261122-000042", ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		SurveyURL: "https://gw.example/survey/abc.def.ghi"}
	for _, lang := range Languages {
		m, err := Render(TemplateCaseSurvey, lang, c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Body, "\nhttps://gw.example/survey/abc.def.ghi\n") || !strings.Contains(m.SMS, c.SurveyURL) {
			t.Errorf("%s: the link is not on a line of its own in the body, or not in the SMS:\n%s\n%s", lang, m.Body, m.SMS)
		}
	}
	c.SurveyURL = ""
	if _, err := Render(TemplateCaseSurvey, LanguageZhCN, c); err == nil || !strings.Contains(err.Error(), "survey link") {
		t.Fatalf("a survey message without its link: %v", err)
	}
}

func TestASurveyDeliveryIsOncePerClosureAndCountsFromIt(t *testing.T) {
	closed := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d := NewSurveyDelivery("id-1", "bank-a", "case-1", ChannelEmail, closed, "", "event-1", nil, closed.Add(time.Second))
	if d.Template != TemplateCaseSurvey || d.DedupKey != "event-1" || !d.ExpectedAnswerAt.Equal(closed) ||
		d.TimeZone != DefaultTimeZone || d.Status != StatusPending || d.IsStaffAlert() {
		t.Fatalf("%+v", d)
	}
}
