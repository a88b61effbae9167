// Package forms renders the paper forms branches keep — the
// counter-exception register entry (柜面异常情况登记表) and the complaint
// handling sheet (客户投诉处理单) of a case — as A4 PDF files with their
// Chinese text in an embedded TrueType font. It knows the forms' layout and
// wording only: callers fill a Case with what the reader may see (customer
// data already masked for them).
package forms

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// DefaultFontFile is Debian's fonts-wqy-microhei: a sans-serif font with
// TrueType outlines for CJK and Latin alike. fpdf embeds TrueType (glyf)
// fonts only, so the CFF-outline Noto Sans CJK cannot be used, and Droid
// Sans Fallback lacks Latin letters and digits. The file is a collection
// (.ttc); the renderer takes its first font.
const DefaultFontFile = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

// ErrNoFont means the renderer was built without a usable CJK font.
var ErrNoFont = errors.New("no CJK font configured for PDF forms")

// Case is what a form shows of one case. Empty fields print as blank lines
// to be filled by hand, as on paper.
type Case struct {
	Number       string
	Bank         string
	Branch       string
	Region       string
	Channel      string // labels, already in Chinese
	Category     string
	Severity     string
	Status       string
	Summary      string
	Description  string
	OccurredAt   time.Time
	ReceivedAt   time.Time
	RegisteredAt time.Time
	ReportedBy   string
	Owner        string

	CustomerName    string // masked for readers who may not see it
	CustomerID      string
	CustomerPhone   string
	CustomerAccount string
	CustomerTier    string

	Finding       string
	Substantiated string
	Departments   string
	VerifiedBy    string
	VerifiedAt    time.Time

	Answer       string
	RootCause    string
	Compensation string
	AnsweredBy   string
	AnsweredAt   time.Time

	Satisfaction string
	VisitComment string

	Steps []Step
}

// Step is one line of the handling record.
type Step struct {
	At    time.Time
	What  string
	Actor string
	Text  string
}

// Renderer makes PDF files. Zone is where the branch is: times print in it.
type Renderer struct {
	font []byte
	Zone *time.Location
}

// NewRenderer reads the font file; an unreadable or non-TrueType file is an
// error naming the file.
func NewRenderer(fontFile string, zone *time.Location) (*Renderer, error) {
	b, err := os.ReadFile(fontFile)
	if err != nil {
		return nil, fmt.Errorf("read PDF form font: %w", err)
	}
	if len(b) >= 4 && string(b[:4]) == "ttcf" {
		if b, err = firstOfCollection(b); err != nil {
			return nil, fmt.Errorf("PDF form font %s: %w", fontFile, err)
		}
	}
	if len(b) < 4 || (!bytes.Equal(b[:4], []byte{0, 1, 0, 0}) && !bytes.Equal(b[:4], []byte("true"))) {
		return nil, fmt.Errorf("PDF form font %s is not a TrueType font (CFF outlines cannot be embedded)", fontFile)
	}
	if zone == nil {
		zone = time.UTC
	}
	return &Renderer{font: b, Zone: zone}, nil
}

// firstOfCollection returns the first font of a TrueType collection as a
// font file of its own: its table directory with the tables copied after
// it (in a collection, the fonts' tables sit anywhere in the file and may
// be shared).
func firstOfCollection(ttc []byte) ([]byte, error) {
	u32 := func(at int) (uint32, bool) {
		if at < 0 || at+4 > len(ttc) {
			return 0, false
		}
		return binary.BigEndian.Uint32(ttc[at:]), true
	}
	bad := errors.New("truncated or malformed font collection")
	n, ok := u32(8)
	if !ok || n == 0 {
		return nil, bad
	}
	off32, ok := u32(12)
	if !ok {
		return nil, bad
	}
	off := int(off32)
	if off+12 > len(ttc) {
		return nil, bad
	}
	numTables := int(binary.BigEndian.Uint16(ttc[off+4:]))
	dirLen := 12 + 16*numTables
	if off+dirLen > len(ttc) {
		return nil, bad
	}
	out := make([]byte, dirLen, len(ttc))
	copy(out, ttc[off:off+dirLen])
	for i := 0; i < numTables; i++ {
		rec := off + 12 + 16*i
		tOff, _ := u32(rec + 8)
		tLen, _ := u32(rec + 12)
		if int(tOff)+int(tLen) > len(ttc) {
			return nil, bad
		}
		binary.BigEndian.PutUint32(out[12+16*i+8:], uint32(len(out)))
		out = append(out, ttc[tOff:tOff+tLen]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}

const (
	pageW   = 210.0
	margin  = 15.0
	lineH   = 6.5
	labelW  = 32.0
	fontFam = "cjk"
)

type doc struct {
	*fpdf.Fpdf
	r *Renderer
}

func (r *Renderer) newDoc(title, number string, printed time.Time) (*doc, error) {
	if r == nil || len(r.font) == 0 {
		return nil, ErrNoFont
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.AddUTF8FontFromBytes(fontFam, "", r.font)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("load PDF form font: %w", err)
	}
	p.SetCreationDate(printed)
	p.SetModificationDate(printed)
	p.SetTitle(title+" "+number, true)
	p.SetSubject(number, false)
	p.SetCreator("counterdesk", false)
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, 18)
	p.AliasNbPages("{nb}")
	d := &doc{Fpdf: p, r: r}
	p.SetFooterFunc(func() {
		p.SetY(-13)
		p.SetFont(fontFam, "", 8)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(0, 5, fmt.Sprintf("%s  编号 %s  打印时间 %s  第 %d / {nb} 页", title, number,
			d.when(printed), p.PageNo()), "", 0, "C", false, 0, "")
		p.SetTextColor(0, 0, 0)
	})
	p.AddPage()
	p.SetFont(fontFam, "", 18)
	p.CellFormat(0, 11, title, "", 1, "C", false, 0, "")
	return d, nil
}

func (d *doc) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.r.Zone).Format("2006-01-02 15:04")
}

// meta prints the line under the title: bank and number.
func (d *doc) meta(left, right string) {
	d.SetFont(fontFam, "", 10)
	w := (pageW - 2*margin) / 2
	d.CellFormat(w, 7, left, "", 0, "L", false, 0, "")
	d.CellFormat(w, 7, right, "", 1, "R", false, 0, "")
}

// section prints a shaded heading row across the page.
func (d *doc) section(title string) {
	d.SetFont(fontFam, "", 11)
	d.SetFillColor(232, 236, 242)
	d.CellFormat(0, 7.5, title, "1", 1, "L", true, 0, "")
}

// pairs prints label/value cells, two pairs a row.
func (d *doc) pairs(kv ...string) {
	d.SetFont(fontFam, "", 10)
	valW := (pageW-2*margin)/2 - labelW
	for i := 0; i < len(kv); i += 4 {
		d.CellFormat(labelW, lineH+1, kv[i], "1", 0, "L", false, 0, "")
		d.CellFormat(valW, lineH+1, fit(d, kv[i+1], valW), "1", 0, "L", false, 0, "")
		if i+3 < len(kv) {
			d.CellFormat(labelW, lineH+1, kv[i+2], "1", 0, "L", false, 0, "")
			d.CellFormat(valW, lineH+1, fit(d, kv[i+3], valW), "1", 1, "L", false, 0, "")
		} else {
			d.CellFormat(labelW+valW, lineH+1, "", "1", 1, "L", false, 0, "")
		}
	}
}

// block prints a label beside a free text that wraps, at least minLines
// high so that the paper copy leaves room to write.
func (d *doc) block(label, text string, minLines int) {
	d.SetFont(fontFam, "", 10)
	valW := pageW - 2*margin - labelW
	lines := wrap(d, text, valW-2)
	n := max(len(lines), minLines)
	h := float64(n) * lineH
	if d.GetY()+h > 297-20 {
		d.AddPage()
	}
	x, y := d.GetX(), d.GetY()
	d.CellFormat(labelW, h, label, "1", 0, "LM", false, 0, "")
	d.Rect(x+labelW, y, valW, h, "D")
	d.SetXY(x+labelW+1, y)
	for _, l := range lines {
		d.CellFormat(valW-2, lineH, l, "", 2, "L", false, 0, "")
	}
	d.SetXY(x, y+h)
}

// signatures prints the lines people sign on paper.
func (d *doc) signatures(roles ...string) {
	d.Ln(6)
	d.SetFont(fontFam, "", 10)
	w := (pageW - 2*margin) / float64(len(roles))
	for _, r := range roles {
		d.CellFormat(w, 8, r+"：____________", "", 0, "L", false, 0, "")
	}
	d.Ln(10)
	for range roles {
		d.CellFormat(w, 8, "日期：____年__月__日", "", 0, "L", false, 0, "")
	}
	d.Ln(8)
}

func (d *doc) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.Output(&buf); err != nil {
		return nil, fmt.Errorf("write PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// wrap breaks text into lines no wider than w: anywhere between CJK
// characters, at a space between Latin words, within a word only when the
// word alone is too wide. Line breaks in text are kept. (fpdf's SplitText
// drops the CJK character it breaks at.)
func wrap(d *doc, text string, w float64) []string {
	var lines []string
	for _, para := range strings.Split(strings.TrimSpace(text), "\n") {
		var line []rune
		lastSpace := -1
		for _, c := range strings.TrimRight(para, " \r\t") {
			line = append(line, c)
			if c == ' ' {
				lastSpace = len(line) - 1
			}
			if d.GetStringWidth(string(line)) <= w || len(line) == 1 {
				continue
			}
			cut := len(line) - 1 // before c
			if c < 0x2E80 && c != ' ' && lastSpace > 0 {
				cut = lastSpace + 1 // the Latin word moves down whole
			}
			lines = append(lines, strings.TrimRight(string(line[:cut]), " "))
			line = append([]rune(nil), line[cut:]...)
			lastSpace = -1
			for i, r := range line {
				if r == ' ' {
					lastSpace = i
				}
			}
		}
		lines = append(lines, string(line))
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// fit shortens s to one cell's width.
func fit(d *doc, s string, w float64) string {
	if d.GetStringWidth(s) <= w-2 {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && d.GetStringWidth(string(r)+"…") > w-2 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// RegisterEntry renders the 柜面异常情况登记表 of c, printed at now.
func (r *Renderer) RegisterEntry(c Case, now time.Time) ([]byte, error) {
	d, err := r.newDoc("柜面异常情况登记表", c.Number, now)
	if err != nil {
		return nil, err
	}
	d.meta("机构："+c.Bank+"  "+c.Region+" / "+c.Branch, "登记编号："+c.Number)
	d.section("一、异常情况")
	d.pairs("发生时间", d.when(c.OccurredAt), "发现/受理时间", d.when(c.ReceivedAt),
		"登记时间", d.when(c.RegisteredAt), "受理方式", c.Channel,
		"异常类别", c.Category, "复杂程度", c.Severity,
		"首问负责人", c.ReportedBy, "当前处理人", c.Owner)
	d.block("情况摘要", c.Summary, 1)
	d.block("情况描述", c.Description, 4)
	d.section("二、客户信息")
	d.pairs("客户姓名", c.CustomerName, "证件号码", c.CustomerID,
		"联系电话", c.CustomerPhone, "账号", c.CustomerAccount,
		"客户等级", c.CustomerTier)
	d.section("三、核实情况")
	d.pairs("核实人", c.VerifiedBy, "核实时间", d.when(c.VerifiedAt),
		"是否属实", c.Substantiated, "协同部门", c.Departments)
	d.block("核实结论", c.Finding, 3)
	d.section("四、处理情况")
	d.pairs("处理人", c.AnsweredBy, "处理时间", d.when(c.AnsweredAt),
		"原因分类", c.RootCause, "当前状态", c.Status)
	d.block("处理结果", c.Answer, 3)
	d.block("补偿情况", c.Compensation, 1)
	d.signatures("登记人", "核实人", "网点负责人")
	return d.bytes()
}

// ComplaintSheet renders the 客户投诉处理单 of c, printed at now.
func (r *Renderer) ComplaintSheet(c Case, now time.Time) ([]byte, error) {
	d, err := r.newDoc("客户投诉处理单", c.Number, now)
	if err != nil {
		return nil, err
	}
	d.meta("受理机构："+c.Bank+"  "+c.Region+" / "+c.Branch, "投诉编号："+c.Number)
	d.section("一、投诉受理")
	d.pairs("投诉人", c.CustomerName, "联系电话", c.CustomerPhone,
		"客户等级", c.CustomerTier, "受理渠道", c.Channel,
		"受理时间", d.when(c.ReceivedAt), "登记时间", d.when(c.RegisteredAt),
		"投诉类别", c.Category, "复杂程度", c.Severity,
		"首问负责人", c.ReportedBy, "当前处理人", c.Owner)
	d.block("投诉事由", c.Summary, 1)
	d.block("投诉内容", c.Description, 4)
	d.section("二、调查核实")
	d.pairs("核实人", c.VerifiedBy, "核实时间", d.when(c.VerifiedAt),
		"是否属实", c.Substantiated, "协同部门", c.Departments)
	d.block("核实情况", c.Finding, 2)
	d.section("三、处理经过")
	d.steps(c.Steps)
	d.section("四、处理结果及答复")
	d.pairs("答复人", c.AnsweredBy, "答复时间", d.when(c.AnsweredAt),
		"原因分类", c.RootCause, "当前状态", c.Status)
	d.block("答复内容", c.Answer, 3)
	d.block("补偿情况", c.Compensation, 1)
	d.section("五、回访")
	d.pairs("满意度", c.Satisfaction, "", "")
	d.block("回访意见", c.VisitComment, 2)
	d.signatures("经办人", "投诉管理人", "网点负责人")
	return d.bytes()
}

// steps prints the handling record as a table: time, step, by whom, note.
func (d *doc) steps(steps []Step) {
	d.SetFont(fontFam, "", 9)
	cols := []float64{30, 28, 30, pageW - 2*margin - 88}
	for i, h := range []string{"时间", "环节", "经办人", "说明"} {
		d.CellFormat(cols[i], 6, h, "1", 0, "C", false, 0, "")
	}
	d.Ln(-1)
	if len(steps) == 0 {
		d.CellFormat(0, 6, "", "1", 1, "L", false, 0, "")
	}
	for _, s := range steps {
		lines := wrap(d, s.Text, cols[3]-2)
		n := max(len(lines), 1)
		h := float64(n) * 5.5
		if d.GetY()+h > 297-20 {
			d.AddPage()
		}
		x, y := d.GetX(), d.GetY()
		d.CellFormat(cols[0], h, d.when(s.At), "1", 0, "LM", false, 0, "")
		d.CellFormat(cols[1], h, fit(d, s.What, cols[1]), "1", 0, "LM", false, 0, "")
		d.CellFormat(cols[2], h, fit(d, s.Actor, cols[2]), "1", 0, "LM", false, 0, "")
		d.Rect(x+cols[0]+cols[1]+cols[2], y, cols[3], h, "D")
		d.SetXY(x+cols[0]+cols[1]+cols[2]+1, y)
		for _, l := range lines {
			d.CellFormat(cols[3]-2, 5.5, l, "", 2, "L", false, 0, "")
		}
		d.SetXY(x, y+h)
	}
}

// Notice is what a rectification notice shows.
type Notice struct {
	ID         string
	Bank       string
	Branch     string // the branch (or department) told to rectify
	Region     string
	Department string
	Fault      string
	Cases      []string // case numbers or ids behind the fault
	DueDate    string   // YYYY-MM-DD, the bank's calendar day
	Status     string
	Overdue    bool
	IssuedBy   string
	IssuedAt   time.Time
	Measures   string
	MeasuresBy string
	MeasuresAt time.Time
	ClosedBy   string
	ClosedAt   time.Time
	Comment    string
}

// RectificationNotice renders the 客户投诉整改通知单 of n, printed at now.
func (r *Renderer) RectificationNotice(n Notice, now time.Time) ([]byte, error) {
	d, err := r.newDoc("客户投诉整改通知单", n.ID, now)
	if err != nil {
		return nil, err
	}
	to := n.Branch
	if n.Department != "" {
		to = strings.TrimSpace(n.Branch + " " + n.Department)
	}
	d.meta("下发机构："+n.Bank, "通知单编号："+n.ID)
	d.section("一、通知")
	status := n.Status
	if n.Overdue {
		status += "（已逾期）"
	}
	d.pairs("整改单位", to, "所属分行", n.Region,
		"下发人", n.IssuedBy, "下发时间", d.when(n.IssuedAt),
		"整改期限", n.DueDate, "当前状态", status)
	d.block("存在问题", n.Fault, 4)
	d.block("关联案件", strings.Join(n.Cases, "、"), 1)
	d.section("二、整改措施")
	d.pairs("填报人", n.MeasuresBy, "填报时间", d.when(n.MeasuresAt))
	d.block("整改措施", n.Measures, 5)
	d.section("三、验收")
	d.pairs("验收人", n.ClosedBy, "验收时间", d.when(n.ClosedAt))
	d.block("验收意见", n.Comment, 3)
	d.signatures("整改单位负责人", "下发部门", "验收人")
	return d.bytes()
}
