package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// surveyChromium is Debian's Chromium; the test never downloads a browser.
const surveyChromium = "/usr/bin/chromium"

var surveyLink = regexp.MustCompile(`https?://[^\s<>"]+/survey/[A-Za-z0-9_\-.]+`)

// The customer of a closed case gets the return-visit survey by e-mail,
// opens its link on a phone-sized headless Chromium, gives 4 and a comment;
// the page thanks them, the case at intake shows the return visit (by the
// customer, through the survey), and the same link refuses a second answer,
// in the browser and over plain HTTP.
func TestACustomerAnswersTheReturnVisitSurveyInABrowser(t *testing.T) {
	mint := func(p auth.Principal) string {
		tok, err := st.Keys.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cm := mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-complaints", Role: auth.RoleComplaintManager, Branch: stack.DemoBranch, Region: stack.DemoRegion})
	head := mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-head", Role: auth.RoleBranchHead, Branch: stack.DemoBranch, Region: stack.DemoRegion})
	c := createCase(t, "survey-"+time.Now().Format("150405.000"), newCaseBody("手续费争议"))
	id, number := str(c["id"]), str(c["caseNumber"])
	path := "/v1/cases/" + id
	eventually(t, 20*time.Second, "first owner recorded in intake", func() string {
		_, h := call(t, http.MethodGet, path+"/history", cm, nil)
		for _, e := range list(h, "entries") {
			if e["kind"] == "handover" {
				return ""
			}
		}
		return "no hand-over yet"
	})
	for _, s := range []struct {
		token, action string
		body          obj
	}{
		{cm, "startVerification", obj{}},
		{cm, "recordVerification", obj{"finding": "收费依据已核实", "substantiated": false}},
		{cm, "answer", obj{"answer": "已向您说明收费标准。", "rootCause": "ROOT_CAUSE_CUSTOMER_MISUNDERSTANDING"}},
		{cm, "recordReturnVisit", obj{"satisfaction": 3, "comment": "电话回访", "reached": true}},
		{head, "close", obj{}},
	} {
		if code, r := call(t, http.MethodPost, path+":"+s.action, s.token, s.body); code != http.StatusOK {
			t.Fatalf("%s: %d %v", s.action, code, r)
		}
	}

	var link string
	eventually(t, 30*time.Second, "the survey e-mail", func() string {
		for _, m := range mailsFor(t, number) {
			if l := surveyLink.FindString(m.Body); l != "" && strings.Contains(m.Subject, "评价") {
				link = l
				return ""
			}
		}
		return "no mail of the case with a survey link yet"
	})
	if !strings.HasPrefix(link, gw+"/survey/") {
		t.Fatalf("survey link %s does not go through the gateway %s", link, gw)
	}
	t.Logf("survey link: %s/survey/…(%d characters)", gw, len(link))

	if _, err := os.Stat(surveyChromium); err != nil {
		t.Skipf("no browser at %s (Debian package chromium): the survey page is not driven in a browser", surveyChromium)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(surveyChromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "zh-CN"), chromedp.WindowSize(390, 844)) // a phone
	defer cancelAlloc()
	browserCtx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelRun := context.WithTimeout(browserCtx, 60*time.Second)
	defer cancelRun()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\npage: %s", what, err, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	do("open the survey link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#survey")))
	if h := text("h1"); h != "服务回访" {
		t.Errorf("page title %q, want the Chinese page", h)
	}
	// Built for the phone: nothing wider than the screen, buttons big enough to tap.
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth &&
		document.querySelector('label[for=s4]').getBoundingClientRect().height >= 44`))
	if err != nil || !fits {
		t.Errorf("the page does not fit a 390-pixel screen with tappable buttons (%v)", err)
	}
	comment := "柜员解释得很清楚，谢谢"
	do("give 4 and a comment",
		chromedp.Click(chromedp.CSS("label[for=s4]")),
		chromedp.SendKeys(chromedp.CSS("#comment"), comment),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	if msg := text("#message"); !strings.Contains(msg, "感谢您的评价") {
		t.Fatalf("after sending: %q, want the thanks", msg)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "survey-answered.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the answered survey: %s", shot)

	// Recorded on the case at intake, by the customer through the survey.
	_, got := call(t, http.MethodGet, path, cm, nil)
	rv, _ := got["returnVisit"].(obj)
	if str(got["status"]) != "CASE_STATUS_CLOSED" || rv["satisfaction"] != float64(4) || str(rv["comment"]) != comment ||
		str(rv["visitedBy"]) != "customer:survey" || rv["reached"] != true {
		t.Fatalf("case after the survey: status %v, return visit %v", got["status"], rv)
	}

	// The same link again: refused in the browser and over HTTP, nothing recorded.
	do("open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#message")))
	if msg := text("#message"); !strings.Contains(msg, "已提交过评价") {
		t.Errorf("the link opened again: %q, want already answered", msg)
	}
	resp, err := http.PostForm(link, url.Values{"satisfaction": {"1"}, "comment": {"second"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a second answer through the link: %d, want 409", resp.StatusCode)
	}
	_, h := call(t, http.MethodGet, path+"/history", cm, nil)
	n := 0
	for _, e := range list(h, "entries") {
		if e["action"] == "recordReturnVisit" && e["actorId"] == "customer:survey" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d survey answers in the case's history, want 1", n)
	}
	if _, again := call(t, http.MethodGet, path, cm, nil); again["returnVisit"] == nil || again["returnVisit"].(obj)["satisfaction"] != float64(4) {
		t.Errorf("the second answer changed the return visit: %v", again["returnVisit"])
	}
	// The comment is personal free text: no service logged it.
	if strings.Contains(serviceLogs(t), comment) {
		t.Error("a service log holds the survey comment")
	}
}
