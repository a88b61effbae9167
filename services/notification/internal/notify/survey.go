package notify

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
