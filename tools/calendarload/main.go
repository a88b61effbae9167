// Command calendarload loads national holiday years from a file in the
// shipped layout (shared/calendars/cn-2027.json: {"source", "years": {"2027":
// {"notice", "holidays", "workdays"}}}) into a running installation, one
// PUT /v1/calendars/{calendarId}/years/{year} per year, as the installation's
// operator. slatimer validates each year (a 400 names the field) and
// recomputes the open deadlines it moves.
//
//	go run ./tools/calendarload --file ../shared/calendars/cn-2027.json
//
// Without --gateway and --token it reads GATEWAY_URL and DEMO_OPERATOR_TOKEN
// from .devstack/endpoints.env (the stack `make up` started); OPERATOR_TOKEN
// in the environment wins over the file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/counterdesk/counterdesk/tools/internal/devenv"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

type notice struct {
	Title          string  `json:"title"`
	DocumentNo     *string `json:"document_no"`
	Issued         *string `json:"issued"`
	URL            *string `json:"url"`
	AltURL         *string `json:"alt_url"`
	Note           *string `json:"note"`
	DocumentNoNote *string `json:"document_no_note"`
}

type holiday struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// fileHoliday is a holiday range of the file; its note (e.g. which days
// are the statutory ones) stays in the file.
type fileHoliday struct {
	holiday
	Note string `json:"note"`
}

type fileYear struct {
	Notice   notice        `json:"notice"`
	Holidays []fileHoliday `json:"holidays"`
	Workdays []string      `json:"workdays"`
}

type file struct {
	Source string              `json:"source"`
	Years  map[string]fileYear `json:"years"`
}

// putBody is the API's PutCalendarYearRequest body.
type putBody struct {
	Holidays []holiday `json:"holidays"`
	Workdays []string  `json:"workdays"`
	Source   string    `json:"source"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "calendarload:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("calendarload", flag.ContinueOnError)
	path := fs.String("file", "", "holiday file in the shipped layout (required)")
	calendarID := fs.String("calendar", "cn", "national calendar id")
	gateway := fs.String("gateway", "", "API base URL (default: GATEWAY_URL of --endpoints)")
	token := fs.String("token", "", "operator bearer token (default: $OPERATOR_TOKEN, else DEMO_OPERATOR_TOKEN of --endpoints)")
	endpoints := fs.String("endpoints", ".devstack/endpoints.env", "endpoints file written by make up")
	only := fs.String("years", "", "comma-separated years to load (default: every year in the file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("--file is required")
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	bodies, err := parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *path, err)
	}
	env, _ := devenv.Read(*endpoints) // optional: flags and the environment may give everything
	if *gateway == "" {
		*gateway = env["GATEWAY_URL"]
	}
	if *token == "" {
		*token = os.Getenv("OPERATOR_TOKEN")
	}
	if *token == "" {
		*token = env["DEMO_OPERATOR_TOKEN"]
	}
	if *gateway == "" || *token == "" {
		return errors.New("no gateway or operator token: pass --gateway and --token, or run `make up` first")
	}
	years := make([]int, 0, len(bodies))
	for y := range bodies {
		years = append(years, y)
	}
	slices.Sort(years)
	if *only != "" {
		var keep []int
		for _, s := range strings.Split(*only, ",") {
			y, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || bodies[y] == nil {
				return fmt.Errorf("--years: %q is not a year of the file", s)
			}
			keep = append(keep, y)
		}
		years = keep
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, y := range years {
		moved, err := put(ctx, *gateway, *token, *calendarID, y, bodies[y])
		if err != nil {
			return fmt.Errorf("year %d: %w", y, err)
		}
		fmt.Fprintf(out, "loaded %s %d: %d holidays, %d make-up working days; %d open deadlines moved\n",
			*calendarID, y, len(bodies[y].Holidays), len(bodies[y].Workdays), moved)
	}
	return nil
}

// parse turns the file into one request body per year. Each year's source
// names the file's source and, when known, the notice.
func parse(raw []byte) (map[int]*putBody, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a holiday file in the shipped layout: %w", err)
	}
	if len(f.Years) == 0 {
		return nil, errors.New("no years")
	}
	out := map[int]*putBody{}
	for k, y := range f.Years {
		year, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("years[%q]: not a year", k)
		}
		src := f.Source
		if n := y.Notice; n.Title != "" {
			src = n.Title
			if n.DocumentNo != nil {
				src += " " + *n.DocumentNo
			}
			if n.Issued != nil {
				src += " (" + *n.Issued + ")"
			}
			if n.URL != nil {
				src += " " + *n.URL
			}
			if n.DocumentNo == nil {
				src += " — document not read; " + f.Source
			}
		}
		if len(src) > 2000 {
			src = src[:1997] + "..."
		}
		hs := make([]holiday, 0, len(y.Holidays))
		for _, h := range y.Holidays {
			hs = append(hs, h.holiday)
		}
		out[year] = &putBody{Holidays: hs, Workdays: y.Workdays, Source: src}
		if out[year].Workdays == nil {
			out[year].Workdays = []string{}
		}
	}
	return out, nil
}

func put(ctx context.Context, gateway, token, calendarID string, year int, body *putBody) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	u := strings.TrimRight(gateway, "/") + "/v1/calendars/" + url.PathEscape(calendarID) + "/years/" + strconv.Itoa(year)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("PUT %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(respBody))
	}
	var r struct {
		RecomputedDeadlines int `json:"recomputedDeadlines"`
	}
	if err := json.Unmarshal(respBody, &r); err != nil {
		return 0, fmt.Errorf("PUT %s: unreadable answer: %w", u, err)
	}
	return r.RecomputedDeadlines, nil
}
