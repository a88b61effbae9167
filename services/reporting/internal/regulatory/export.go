package regulatory

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// column is one figure as the downloads head it.
type column struct {
	Name string
	Get  func(Figures) int64
}

// Columns are the figures in download order, with their Chinese headings.
var columns = []column{
	{"受理量", func(f Figures) int64 { return f.Received }},
	{"已办结", func(f Figures) int64 { return f.Decided }},
	{"15日内办结", func(f Figures) int64 { return f.Within15 }},
	{"30日内办结", func(f Figures) int64 { return f.Within30 }},
	{"60日内办结", func(f Figures) int64 { return f.Within60 }},
	{"超60日办结", func(f Figures) int64 { return f.After60 }},
	{"未办结", func(f Figures) int64 { return f.Pending }},
	{"延期办理", func(f Figures) int64 { return f.Extended }},
	{"核查中", func(f Figures) int64 { return f.UnderReview }},
	{"客户撤回", func(f Figures) int64 { return f.Withdrawn }},
}

// breakdown is one of the report's breakdowns as the downloads name it.
type breakdown struct {
	Name  string // the CSV's 维度 value
	Sheet string // the XLSX sheet
	Rows  func(Report) []Row
}

var breakdowns = []breakdown{
	{"业务类别", "按业务类别", func(r Report) []Row { return r.ByBusinessLine }},
	{"受理渠道", "按受理渠道", func(r Report) []Row { return r.ByChannel }},
	{"投诉原因", "按投诉原因", func(r Report) []Row { return r.ByRootCause }},
}

// FileName is the download's name without extension, e.g.
// "complaints-2026-Q1".
func FileName(r Report) string { return fmt.Sprintf("complaints-%d-Q%d", r.Year, r.Quarter) }

// WriteCSV writes r as one table (UTF-8 with a byte-order mark, so that
// spreadsheet programs read the Chinese headings; CRLF line ends): a heading
// row, the total, then every breakdown's rows, each row naming its breakdown
// (维度), its value's Chinese name (项目) and enum name (代码).
func WriteCSV(w io.Writer, r Report) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	head := []string{"维度", "项目", "代码"}
	for _, c := range columns {
		head = append(head, c.Name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	line := func(dim, name, key string, f Figures) error {
		rec := []string{dim, name, key}
		for _, c := range columns {
			rec = append(rec, strconv.FormatInt(c.Get(f), 10))
		}
		return cw.Write(rec)
	}
	if err := line("合计", "全部", "", r.Total); err != nil {
		return err
	}
	for _, b := range breakdowns {
		for _, row := range b.Rows(r) {
			if err := line(b.Name, row.Label, row.Key, row.Figures); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// SummarySheet is the XLSX workbook's first sheet.
const SummarySheet = "汇总"

// WriteXLSX writes r as a workbook: a summary sheet (title, scope, period,
// as-of time, the total) and a sheet per breakdown. Figures are numbers.
func WriteXLSX(w io.Writer, r Report) error {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	if err := f.SetSheetName(f.GetSheetName(0), SummarySheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(r.Zone)
	if err != nil {
		return fmt.Errorf("load zone %s: %w", r.Zone, err)
	}
	head := []any{"项目"}
	for _, c := range columns {
		head = append(head, c.Name)
	}
	summary := [][]any{
		{fmt.Sprintf("%d年第%d季度客户投诉统计", r.Year, r.Quarter)},
		{"统计范围", scopeName(r)},
		{"统计期间", fmt.Sprintf("%s 至 %s（%s）", r.From.In(loc).Format(time.DateOnly),
			r.To.In(loc).AddDate(0, 0, -1).Format(time.DateOnly), r.Zone)},
		{"数据截至", r.AsOf.In(loc).Format("2006-01-02 15:04")},
		{},
		head,
		append([]any{"合计"}, figures(r.Total)...),
	}
	if err := setRows(f, SummarySheet, summary); err != nil {
		return err
	}
	if err := f.SetCellStyle(SummarySheet, "A1", "A1", bold); err != nil {
		return err
	}
	if err := f.SetRowStyle(SummarySheet, 6, 6, bold); err != nil {
		return err
	}
	for _, b := range breakdowns {
		if _, err := f.NewSheet(b.Sheet); err != nil {
			return err
		}
		rows := [][]any{append([]any{"项目", "代码"}, head[1:]...)}
		for _, row := range b.Rows(r) {
			rows = append(rows, append([]any{row.Label, row.Key}, figures(row.Figures)...))
		}
		if err := setRows(f, b.Sheet, rows); err != nil {
			return err
		}
		if err := f.SetRowStyle(b.Sheet, 1, 1, bold); err != nil {
			return err
		}
		if err := f.SetColWidth(b.Sheet, "A", "B", 24); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(SummarySheet, "A", "A", 14); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

func scopeName(r Report) string {
	switch {
	case r.Branch != "":
		return "网点 " + r.Branch
	case r.Region != "":
		return "分行 " + r.Region
	}
	return "全行"
}

func figures(f Figures) []any {
	out := make([]any, len(columns))
	for i, c := range columns {
		out[i] = c.Get(f)
	}
	return out
}

func setRows(f *excelize.File, sheet string, rows [][]any) error {
	for i, row := range rows {
		if len(row) == 0 {
			continue
		}
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			return fmt.Errorf("write %s row %d: %w", sheet, i+1, err)
		}
	}
	return nil
}
