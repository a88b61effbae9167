package surveyhttp

import (
	"fmt"

	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
)

const maxComment = survey.MaxCommentRunes

// text is the page's wording in one language.
type text struct {
	Title, Intro, Question, Comment, Placeholder, Hint, Submit, OtherLanguage string
	// Scale names 1 to 5.
	Scale [5]string
	// Messages by outcome: thanks, answered, reopened, expired, invalid,
	// crossOrigin, busy.
	Messages map[string]string
	// Fields: what to say about a wrong field.
	Fields map[string]string
}

func (t text) field(name string) string {
	if m, ok := t.Fields[name]; ok {
		return m
	}
	return t.Fields[""]
}

var texts = map[string]text{
	"zh-CN": {
		Title:         "服务回访",
		Intro:         "您反映的问题已办结。请为我们的处理打分，您的意见将帮助我们改进服务。",
		Question:      "您对本次处理的满意程度（1 最不满意，5 最满意）",
		Comment:       "意见或建议（选填）",
		Placeholder:   "请在此填写",
		Hint:          fmt.Sprintf("最多 %d 字。请勿填写身份证号、银行卡号等个人信息。", maxComment),
		Submit:        "提交评价",
		OtherLanguage: "English",
		Scale:         [5]string{"很不满意", "不满意", "一般", "满意", "很满意"},
		Messages: map[string]string{
			"thanks":      "感谢您的评价！我们已收到您的反馈。",
			"answered":    "此回访已提交过评价，无需重复提交。感谢您的反馈！",
			"reopened":    "您的问题已重新受理，本次回访已结束。处理完毕后我们会再次回访。",
			"expired":     "此回访链接已过期。如需反馈，请联系您的开户网点。",
			"invalid":     "此回访链接无效，请检查链接是否完整。",
			"crossOrigin": "请通过回访消息中的链接打开本页面后提交。",
			"busy":        "系统繁忙，暂时无法提交，请稍后再试。",
		},
		Fields: map[string]string{
			"satisfaction": "请选择 1 到 5 分。",
			"comment":      fmt.Sprintf("意见请勿超过 %d 字，且不要包含特殊控制字符。", maxComment),
			"":             "提交的内容有误，请检查后重试。",
		},
	},
	"en": {
		Title:         "How did we do?",
		Intro:         "The matter you raised has been closed. Please rate how we handled it; your feedback helps us improve.",
		Question:      "How satisfied are you with how your case was handled? (1 very dissatisfied, 5 very satisfied)",
		Comment:       "Comments (optional)",
		Placeholder:   "Write here",
		Hint:          fmt.Sprintf("At most %d characters. Please do not include ID or card numbers.", maxComment),
		Submit:        "Send",
		OtherLanguage: "中文",
		Scale:         [5]string{"Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"},
		Messages: map[string]string{
			"thanks":      "Thank you! We have received your feedback.",
			"answered":    "This survey has already been answered. Thank you for your feedback!",
			"reopened":    "Your case has been reopened, so this survey is closed. We will ask again once it is resolved.",
			"expired":     "This survey link has expired. To give feedback, please contact your branch.",
			"invalid":     "This survey link is not valid. Please check that the whole link was opened.",
			"crossOrigin": "Please open this page from the link in the survey message and send it from there.",
			"busy":        "We cannot take your answer right now. Please try again in a moment.",
		},
		Fields: map[string]string{
			"satisfaction": "Please choose a score from 1 to 5.",
			"comment":      fmt.Sprintf("Please keep the comment to %d characters, without control characters.", maxComment),
			"":             "Something in the form is not right; please check it and send again.",
		},
	},
}
