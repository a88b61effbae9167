package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
	"github.com/xuri/excelize/v2"
)

// Debian's Chromium; the test never downloads a browser.
const chromiumPath = "/usr/bin/chromium"

// downloads collects the files the page saves, by their suggested names.
type downloads struct {
	dir   string
	mu    sync.Mutex
	names map[string]string // guid -> suggested file name
	done  map[string]string // suggested file name -> path on disk
}

func (d *downloads) listen(ev any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e := ev.(type) {
	case *browser.EventDownloadWillBegin:
		d.names[e.GUID] = e.SuggestedFilename
	case *browser.EventDownloadProgress:
		if e.State == browser.DownloadProgressStateCompleted {
			d.done[d.names[e.GUID]] = filepath.Join(d.dir, e.GUID)
		}
	}
}

// wait returns the path of the first completed download whose name has
// the given suffix.
func (d *downloads) wait(t *testing.T, suffix string) (string, string) {
	t.Helper()
	var name, path string
	eventually(t, 20*time.Second, "download of a "+suffix, func() string {
		d.mu.Lock()
		defer d.mu.Unlock()
		for n, p := range d.done {
			if strings.HasSuffix(n, suffix) {
				name, path = n, p
				return ""
			}
		}
		return fmt.Sprintf("downloads so far: %v", d.done)
	})
	return name, path
}

func ptr[T any](v T) *T { return &v }

// discard runs a but drops its value, to put it among steps.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, tg)
		return chromedp.Void{}, err
	}
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("E2E_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "counterdesk-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// overviewFigures reads what the dashboard's overview shows, from the API,
// as the supervisor: the figures of every case in their region.
func overviewFigures(t *testing.T) map[string]string {
	t.Helper()
	code, ov := call(t, http.MethodGet, "/v1/reports/overview", toks.Supervisor, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/reports/overview as the supervisor: %d %v", code, ov)
	}
	f, _ := ov["figures"].(obj)
	n := func(m obj, k string) string {
		switch v := m[k].(type) {
		case string: // int64 in proto JSON
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return "0"
		}
	}
	return map[string]string{
		"received": n(f, "received"), "open": n(f, "open"), "answered": n(f, "answered"), "closed": n(f, "closed"),
		"breaches": n(f, "breaches"), "overdue": n(ov, "overdueOpen"), "near": n(ov, "nearDeadlineOpen"),
		"repeats": n(f, "repeats"),
	}
}

func TestDashboardShowsTheSupervisorTheirRegionsNumbers(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("Debian's chromium is not installed (%v): apt-get install chromium", err)
	}
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)

	// A few cases at the supervisor's branch, of two categories.
	before := overviewFigures(t)
	var cases []obj
	for i, cat := range []string{"CATEGORY_FEE_DISPUTE", "CATEGORY_PROCESSING_DELAY", "CATEGORY_FEE_DISPUTE"} {
		body := newCaseBody(fmt.Sprintf("仪表盘测试 %d：客户对手续费有异议", i))
		body["category"] = cat
		cases = append(cases, createCase(t, fmt.Sprintf("dash-%d-%d", i, time.Now().UnixNano()), body))
	}
	// The first is worked to an answer with a root cause and a return visit,
	// so that root causes, satisfaction and the forms have something to show.
	cm, err := st.Keys.Mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-complaints",
		Role: auth.RoleComplaintManager, Branch: stack.DemoBranch, Region: stack.DemoRegion}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	worked := "/v1/cases/" + str(cases[0]["id"])
	eventually(t, 20*time.Second, "routing assigns the first case", func() string {
		_, h := call(t, http.MethodGet, worked+"/history", cm, nil)
		for _, e := range list(h, "entries") {
			if e["kind"] == "handover" {
				return ""
			}
		}
		return "no hand-over yet"
	})
	for _, s := range []struct {
		action string
		body   obj
	}{
		{"startVerification", obj{}},
		{"recordVerification", obj{"finding": "柜员重复扣收转账手续费", "substantiated": true, "departments": []string{"运营管理部"}}},
		{"answer", obj{"answer": "已退还重复扣收的手续费并致歉。", "rootCause": "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
			"compensation": obj{"kind": "COMPENSATION_KIND_FEE_REFUND", "amountFen": 1500}}},
		{"recordReturnVisit", obj{"satisfaction": 4, "comment": "基本满意", "reached": true}},
	} {
		if code, r := call(t, http.MethodPost, worked+":"+s.action, cm, s.body); code != http.StatusOK {
			t.Fatalf("%s: %d %v", s.action, code, r)
		}
	}
	eventually(t, 30*time.Second, "reporting counts the answer's root cause", func() string {
		_, rc := call(t, http.MethodGet, "/v1/reports/root-causes", toks.Supervisor, nil)
		for _, c := range list(rc, "causes") {
			if c["rootCause"] == "ROOT_CAUSE_MANUAL_ENTRY_ERROR" {
				return ""
			}
		}
		return fmt.Sprintf("root causes: %v", rc)
	})
	want, _ := strconv.Atoi(before["received"])
	want += len(cases)
	eventually(t, 30*time.Second, "reporting counts the new cases", func() string {
		got := overviewFigures(t)
		if n, _ := strconv.Atoi(got["received"]); n < want {
			return fmt.Sprintf("received %s, want at least %d", got["received"], want)
		}
		code, l := call(t, http.MethodGet, "/v1/reports/cases?filter.branchId="+stack.DemoBranch+"&pageSize=200", toks.Supervisor, nil)
		if code != http.StatusOK {
			return fmt.Sprintf("case list: %d %v", code, l)
		}
		for _, c := range cases {
			found := false
			for _, r := range list(l, "cases") {
				found = found || r["caseId"] == c["id"]
			}
			if !found {
				return "case " + str(c["caseNumber"]) + " not yet in the branch's case list"
			}
		}
		return ""
	})

	ends, err := st.WriteEndpoints(toks)
	if err != nil {
		t.Fatal(err)
	}
	dashURL := ends["DASHBOARD_URL"]
	if !strings.HasPrefix(dashURL, gw+"/dashboard/#token=") {
		t.Fatalf("DASHBOARD_URL = %.60s…, want the gateway's /dashboard/ with a sign-in fragment", dashURL)
	}

	// What a person (or a plain headless screenshot, as the acceptance check
	// takes) sees on opening DASHBOARD_URL in a fresh browser.
	cli := filepath.Join(t.TempDir(), "cli.png")
	out, err := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-component-update", "--user-data-dir="+t.TempDir(), "--window-size=1400,900",
		"--virtual-time-budget=8000", "--screenshot="+cli, dashURL).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	var size int64
	if fi, err := os.Stat(cli); err == nil {
		size = fi.Size()
	}
	if size < 30000 {
		t.Errorf("a plain screenshot of DASHBOARD_URL is %d bytes: the page did not render", size)
	}
	t.Logf("plain chromium screenshot of DASHBOARD_URL: %d bytes", size)

	dl := &downloads{dir: t.TempDir(), names: map[string]string{}, done: map[string]string{}}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "zh-CN"), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	browserCtx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	ctx, cancelT := context.WithTimeout(browserCtx, 3*time.Minute)
	defer cancelT()
	if err := chromedp.ListenBrowser(ctx, dl.listen); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl.dir, EventsEnabled: ptr(true)}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	fail := func(what string, err error) {
		t.Helper()
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage text: %.800s", what, err, page)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail(what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("read "+sel, err)
		}
		return s
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			fail("screenshot "+name, err)
		}
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", p, len(png))
	}
	const rendered = `body[data-overview="rendered"]`

	// Sign in by the one-click link; the overview shows the API's numbers.
	// Figures can move between two reads (other tests' cases), so the page
	// is compared with the API read just before and after it.
	var shown map[string]string
	var renderMs float64
	for attempt := 0; ; attempt++ {
		apiBefore := overviewFigures(t)
		do("open the one-click sign-in link", chromedp.Navigate(dashURL), visible(rendered))
		if shown, err = chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map(e => [e.dataset.kpi, e.dataset.value]))`)); err != nil {
			fail("read the overview's figures", err)
		}
		if renderMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__overviewRenderedMs`)); err != nil {
			fail("read the overview's render time", err)
		}
		apiAfter := overviewFigures(t)
		if fmt.Sprint(apiBefore) != fmt.Sprint(apiAfter) && attempt < 3 {
			continue
		}
		for k, v := range apiAfter {
			if shown[k] != v {
				t.Errorf("overview shows %s = %q, the API says %q", k, shown[k], v)
			}
		}
		break
	}
	// Render time: from navigation start to the overview drawn (figures and
	// charts), with nothing cached — the first load above, and two reloads
	// with the browser cache off. The best of the three must be under 1 s:
	// one slow load on a busy 2-core test machine is noise, three are not.
	loads := []float64{renderMs}
	timing := func() string {
		tm, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e =>
			e.name.replace(location.origin, '').split('?')[0] + ' at ' + Math.round(e.startTime) + ' for ' + Math.round(e.duration) + ' ms')`))
		return strings.Join(tm, "; ")
	}
	t.Logf("overview rendered %.0f ms after navigation start; it loaded: %s", renderMs, timing())
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		fail("enable the network domain", err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		fail("disable the cache", err)
	}
	for range 2 {
		do("reload the overview cold", chromedp.Reload(), visible(rendered))
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__overviewRenderedMs`))
		if err != nil {
			fail("read the overview's render time", err)
		}
		loads = append(loads, ms)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false}); err != nil {
		fail("enable the cache", err)
	}
	t.Logf("overview cold render times: %v ms", loads)
	if best := slices.Min(loads); best <= 0 || best >= 1000 {
		t.Errorf("overview rendered in %.0f ms at best (%v), want under 1 s; last load: %s", best, loads, timing())
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		fail("read the address", err)
	}
	if strings.Contains(url, "token=") {
		t.Errorf("the token stayed in the address bar: %.80s", url)
	}
	if nav := text("#nav"); !strings.Contains(nav, "总览") || !strings.Contains(nav, "整改通知") {
		t.Errorf("the menu is not in Chinese by default: %q", nav)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.chart canvas').length`))
	if err != nil {
		fail("count charts", err)
	}
	if charts < 3 {
		t.Errorf("overview drew %d charts, want 3 (category, channel, trend)", charts)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`echarts.getInstanceByDom(document.querySelector('[data-testid="chart-category"]'))
		.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0}) || true`)); err != nil {
		fail("show a chart's tooltip", err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations`)); err != nil || len(v) > 0 {
		t.Errorf("the overview and its tooltip: the Content-Security-Policy blocked %v (%v)", v, err)
	}
	shot("overview-zh")

	// A filter narrows every figure as the API narrows it.
	code, ovDelay := call(t, http.MethodGet, "/v1/reports/overview?filter.category=CATEGORY_PROCESSING_DELAY", toks.Supervisor, nil)
	if code != http.StatusOK {
		t.Fatalf("overview by category: %d %v", code, ovDelay)
	}
	wantDelay := str(ovDelay["figures"].(obj)["received"])
	if wantDelay == "" {
		wantDelay = "0"
	}
	do("filter by category", chromedp.SetValue(chromedp.CSS("#f-category"), "CATEGORY_PROCESSING_DELAY"),
		discard(chromedp.Evaluate[bool](`document.querySelector('#f-category').dispatchEvent(new Event('change'))`)),
		visible(rendered))
	if got, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-kpi="received"]`), "data-value")); err != nil || got.Value != wantDelay {
		t.Errorf("filtered by processing delay the overview shows %q received, the API says %s (%v)", got.Value, wantDelay, err)
	}
	do("clear the filter", chromedp.SetValue(chromedp.CSS("#f-category"), ""),
		discard(chromedp.Evaluate[bool](`document.querySelector('#f-category').dispatchEvent(new Event('change'))`)),
		visible(rendered))

	// English by the switch; it sticks across a reload.
	do("switch to English", click(`[data-testid="lang-switch"]`), visible(rendered))
	if nav, label := text("#nav"), text(`[data-kpi="received"] .kpi-label`); !strings.Contains(nav, "Overview") ||
		!strings.Contains(nav, "Rectification") || label != "Received" {
		t.Errorf("after the switch: menu %q, KPI label %q; want English", nav, label)
	}
	shot("overview-en")
	do("reload in English", chromedp.Reload(), visible(rendered))
	if label := text(`[data-kpi="received"] .kpi-label`); label != "Received" {
		t.Errorf("after a reload the label is %q: the language choice was not kept", label)
	}

	// Drill down: branches → the demo branch → its cases → one case.
	target := cases[0]
	do("drill into the branch",
		click(`#nav a[data-page="branches"]`),
		visible(`tr[data-branch="`+stack.DemoBranch+`"]`),
		click(`tr[data-branch="`+stack.DemoBranch+`"]`),
		visible(`[data-testid="branch-title"]`),
		visible(`tr[data-case="`+str(target["id"])+`"]`))
	pageText := text("#view")
	for _, c := range cases {
		if !strings.Contains(pageText, str(c["caseNumber"])) {
			t.Errorf("the branch's case list lacks %s", c["caseNumber"])
		}
	}
	for _, secret := range []string{"王小明", "13812345678", "110101199003071234"} {
		if strings.Contains(pageText, secret) {
			t.Errorf("the branch's case list shows customer data unmasked")
		}
	}
	shot("branch")

	do("open the case",
		click(`tr[data-case="`+str(target["id"])+`"]`),
		visible(`[data-testid="case-title"]`),
		visible(`tr[data-event]`))
	if title := text(`[data-testid="case-title"]`); !strings.Contains(title, str(target["caseNumber"])) {
		t.Errorf("case page title %q, want %s", title, target["caseNumber"])
	}
	events, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-event]').length`))
	if err != nil {
		fail("count history events", err)
	}
	if events < 1 {
		t.Errorf("the case's history has %d events, want its registration at least", events)
	}
	if pageText = text("#view"); strings.Contains(pageText, "王小明") || strings.Contains(pageText, "13812345678") {
		t.Errorf("the case page shows customer data unmasked")
	}
	shot("case")

	// The complaint sheet as a PDF, with the case number in its text.
	do("download the complaint sheet", click(`[data-testid="pdf-complaint"]`))
	name, path := dl.wait(t, ".pdf")
	pdf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("%s is not a PDF: starts %q", name, pdf[:min(len(pdf), 16)])
	}
	if !strings.Contains(name, str(target["caseNumber"])) {
		t.Errorf("PDF saved as %q, want the case number in the name", name)
	}
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		for _, w := range []string{"客户投诉处理单", str(target["caseNumber"]), "仪表盘测试0：客户对手续费有异议", "手续费争议",
			"柜员重复扣收转账手续费", "已退还重复扣收的手续费并致歉。", "手工录入错误", "退还手续费15.00元", "4/5", "基本满意"} {
			if !strings.Contains(text, w) {
				t.Errorf("the complaint sheet PDF lacks %q; text: %.300s", w, text)
			}
		}
		if strings.Contains(text, "王小明") || strings.Contains(text, "13812345678") {
			t.Errorf("the supervisor's PDF shows customer data unmasked")
		}
	} else {
		t.Logf("pdftotext not installed: the PDF's text is not read back (install poppler-utils)")
	}
	t.Logf("PDF form %s: %d bytes", name, len(pdf))

	// A supervisor of another region gets no form of this case.
	north, err := st.Keys.Mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-north-supervisor",
		Role: auth.RoleRegionalSupervisor, Region: "rg-north"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{"complaint-sheet", "register-entry"} {
		p := "/v1/reports/forms/cases/" + str(target["id"]) + "/" + form + ".pdf"
		if code, _ := call(t, http.MethodGet, p, north, nil); code != http.StatusNotFound {
			t.Errorf("another region's supervisor got %s: %d, want 404", form, code)
		}
		if code, _ := call(t, http.MethodGet, p, toks.SRE, nil); code != http.StatusForbidden {
			t.Errorf("an SRE got %s: %d, want 403", form, code)
		}
	}

	// The quarterly report and its XLSX, whose total matches the API's.
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	year, quarter := now.Year(), (int(now.Month())-1)/3+1
	q := fmt.Sprintf("/v1/reports/regulatory/quarterly?year=%d&quarter=%d", year, quarter)
	code, rep := call(t, http.MethodGet, q, toks.Supervisor, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", q, code, rep)
	}
	total, _ := rep["total"].(obj)
	apiReceived := str(total["received"])
	do("open the quarterly report",
		chromedp.Navigate(gw+fmt.Sprintf("/dashboard/#/quarterly/%d/%d", year, quarter)),
		visible(`[data-kpi="q-received"]`))
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-kpi="q-received"]`), "data-value"))
	if err != nil {
		fail("read the quarterly total", err)
	}
	shownReceived := attr.Value
	do("download the quarterly workbook", click(`[data-testid="download-xlsx"]`))
	if apiReceived == "" { // proto JSON leaves a zero out
		apiReceived = "0"
	}
	if shownReceived != apiReceived {
		t.Errorf("quarterly report shows %s received, the API says %s", shownReceived, apiReceived)
	}
	name, path = dl.wait(t, ".xlsx")
	book, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("the downloaded %s is not an XLSX workbook: %v", name, err)
	}
	defer book.Close()
	var cellsText strings.Builder
	for _, sheet := range book.GetSheetList() {
		rows, err := book.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			cellsText.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	if !strings.Contains(cellsText.String(), "手续费争议") {
		t.Errorf("the quarterly workbook %s lacks the fee-dispute line; cells: %.500s", name, cellsText.String())
	}
	t.Logf("quarterly workbook %s: sheets %v", name, book.GetSheetList())
	shot("quarterly")

	// A rectification notice the supervisor issues for the branch: its page,
	// its print page and its PDF.
	due := time.Now().AddDate(0, 0, 14).Format("2006-01-02")
	code, notice := call(t, http.MethodPost, "/v1/rectification-notices", toks.Supervisor, obj{
		"branchId": stack.DemoBranch, "fault": "手续费告知不充分，客户多次投诉", "caseIds": []string{str(cases[0]["id"]), str(cases[2]["id"])},
		"dueDate": due})
	if code != http.StatusOK || notice["id"] == nil {
		t.Fatalf("issue a rectification notice: %d %v", code, notice)
	}
	nid := str(notice["id"])
	do("open the rectification notices",
		chromedp.Navigate(gw+"/dashboard/#/rectification"),
		visible(`#view table tbody tr`),
		click(`#view table tbody tr`),
		visible(`[data-testid="pdf-notice"]`))
	if v := text("#view"); !strings.Contains(v, "手续费告知不充分") || !strings.Contains(v, due) {
		t.Errorf("the notice page lacks its fault or due date: %.300s", v)
	}
	do("download the notice", click(`[data-testid="pdf-notice"]`))
	name, path = dl.wait(t, nid+".pdf")
	if b, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("the rectification notice download %s is not a PDF (%v)", name, err)
	}
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		for _, w := range []string{"客户投诉整改通知单", "手续费告知不充分，客户多次投诉", due, stack.DemoBranch} {
			if !strings.Contains(text, w) {
				t.Errorf("the rectification notice PDF lacks %q; text: %.300s", w, text)
			}
		}
	}

	// Every other page renders from the API without an error, and the
	// printable forms fill from intake, masked for the supervisor.
	for _, p := range []struct{ route, ready, shot string }{
		{"#/sla", `[data-testid="chart-compliance"] canvas`, "sla"},
		{"#/root-causes", `[data-testid="chart-pareto"] canvas`, "root-causes"},
		{"#/heatmap", `[data-testid="chart-heatmap"] canvas`, "heatmap"},
		{"#/trends/PERIOD_DAY", `[data-testid="chart-trends"] canvas`, ""},
		{"#/at-risk", `#view table`, "at-risk"},
		{"#/print/complaint/" + str(target["id"]), `[data-testid="print-sheet"]`, ""},
		{"#/print/register/" + str(target["id"]), `[data-testid="print-sheet"]`, "print-register-entry"},
		{"#/print/notice/" + nid, `[data-testid="print-sheet"]`, ""},
	} {
		do("open "+p.route, chromedp.Navigate(gw+"/dashboard/"+p.route), visible(p.ready))
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#view .error').length`)); err != nil || n > 0 {
			t.Errorf("%s shows an error: %s", p.route, text("#view"))
		}
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations`)); err != nil || len(v) > 0 {
			t.Errorf("%s: the Content-Security-Policy blocked %v (%v)", p.route, v, err)
		}
		if p.shot != "" {
			shot(p.shot)
		}
		if strings.HasPrefix(p.route, "#/print/") {
			v := text("#view")
			if strings.Contains(v, "王小明") || strings.Contains(v, "13812345678") || strings.Contains(v, "110101199003071234") {
				t.Errorf("the printable form %s shows customer data unmasked", p.route)
			}
			if !strings.Contains(v, "整改通知单") && !strings.Contains(v, str(target["caseNumber"])) {
				t.Errorf("the printable form %s lacks its case number: %.200s", p.route, v)
			}
		}
	}
	shot("print-notice")
	do("open the complaint sheet's print page", chromedp.Navigate(gw+"/dashboard/#/print/complaint/"+str(target["id"])),
		visible(`[data-testid="print-sheet"]`))
	shot("print-complaint-sheet")

	// On a tablet held upright: one column, the menu folded behind a button,
	// nothing wider than the screen.
	do("open the overview on a tablet",
		chromedp.EmulateViewport(820, 1180, chromedp.EmulatePortrait, chromedp.EmulateTouch),
		chromedp.Navigate(gw+"/dashboard/#/overview"), visible(rendered), visible("#menu"))
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		fail("measure the tablet layout", err)
	}
	if overflow > 0 {
		t.Errorf("on a tablet the overview is %d px wider than the screen", overflow)
	}
	shot("overview-tablet")
	do("open the menu on a tablet", click("#menu"), visible(`#nav a[data-page="sla"]`))

	// Signed out, the page asks for a token and says what the dashboard is.
	do("sign out", chromedp.EmulateViewport(1280, 900), click("#signout"), visible(".signin textarea"))
	shot("signin")
}
