package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/pii"
)

// attemptStaff sends a staff alert to the work address routing gave when
// the alert was decided, in the staff language. Intake is not asked: the
// alert needs nothing of the customer and shows nothing of them.
func (d *Dispatcher) attemptStaff(ctx context.Context, del *notify.Delivery) error {
	now, lang := d.opts.Now(), d.opts.StaffLanguage
	del.Via = notify.ChannelEmail
	if del.Channel != notify.ChannelEmail {
		del.Via = ""
		return del.MarkFailed(now, lang, fmt.Sprintf("channel %q is not supported for staff alerts", del.Channel), true, 0)
	}
	to := strings.TrimSpace(del.Staff.Email)
	if to == "" {
		return del.MarkSkipped(now, lang, notify.ReasonNoStaffEmail)
	}
	scrub := scrubber(Contact{Email: to, CustomerName: del.Staff.Name})
	msg, err := d.opts.Renderer.RenderStaff(ctx, del.TenantID, del.Channel, *del, lang)
	if err != nil {
		return del.MarkFailed(now, lang, scrub("render: "+err.Error()), true, 0)
	}
	del.Recipient = pii.MaskEmail(to)
	err = d.mailer.Send(ctx, Mail{
		MessageID: notify.MessageID(del.ID), To: to, ToName: notify.SingleLine(del.Staff.Name),
		Subject: msg.Subject, Body: msg.Body, HTML: msg.HTML, Language: msg.Language, Date: now,
	})
	if err != nil {
		return del.MarkFailed(now, lang, scrub(err.Error()), isPermanent(err), d.opts.Jitter())
	}
	return del.MarkSent(now, lang, pii.MaskEmail(to))
}
