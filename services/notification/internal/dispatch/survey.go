package dispatch

import (
	"errors"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
)

// surveyURL is the link a return-visit survey message carries, minted for
// this attempt in the customer's language; "" for every other message.
func (d *Dispatcher) surveyURL(del notify.Delivery, lang notify.Language) (string, error) {
	if del.Template != notify.TemplateCaseSurvey {
		return "", nil
	}
	if d.opts.SurveyLinks == nil {
		return "", errors.New("return-visit surveys are not configured (SURVEY_SIGNING_KEYS)")
	}
	return d.opts.SurveyLinks.SurveyURL(del, lang)
}
