package notify

import "time"

// TemplateCaseSurvey is the return-visit survey (回访) sent to the customer
// when their case is closed: a link to a small page where they give 1 to 5
// and a comment, once, before the link expires. Its delivery's
// ExpectedAnswerAt is when the case was closed (the link's lifetime counts
// from it); Content.SurveyURL is the link, minted when the message is sent.
const TemplateCaseSurvey Template = "case_survey"

// SurveyLinks mints the link a survey message carries, at each attempt to
// send it (see survey.Links): the link names the delivery as its survey and
// speaks the customer's language.
type SurveyLinks interface {
	SurveyURL(d Delivery, lang Language) (string, error)
}

// NewSurveyDelivery is the survey message of the closure announced by event
// eventID (closed at closedAt, in the branch's zone), kept once per event:
// a case closed again after a reopening is asked again, about that closure.
func NewSurveyDelivery(id, tenantID, caseID string, ch Channel, closedAt time.Time, zone, eventID string, trace map[string]string, now time.Time) Delivery {
	if zone == "" {
		zone = DefaultTimeZone
	}
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ch, Template: TemplateCaseSurvey, Status: StatusPending,
		ExpectedAnswerAt: closedAt, TimeZone: zone, DedupKey: eventID,
		NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}
