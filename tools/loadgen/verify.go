package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

// violation is one effect of one case that is not there exactly once.
type violation struct {
	CaseID string `json:"case_id"`
	Tenant string `json:"tenant"`
	Effect string `json:"effect"` // owner, queue, deadlines, ack_delivered, mail, reporting
	Detail string `json:"detail"` // e.g. "2 assignments", "DEADLINE_KIND_RESOLUTION missing"
}

func (v violation) String() string {
	return fmt.Sprintf("case %s (%s) %s: %s", v.CaseID, v.Tenant, v.Effect, v.Detail)
}

// verify checks that every case has every effect exactly once:
//   - routing: exactly one assignment;
//   - Redis: in its branch queue, and in exactly one owner queue of the
//     branch, the one of the owner routing recorded;
//   - slatimer: every creation deadline kind, no kind twice;
//   - notification: exactly one acknowledgment delivery (each case has an
//     e-mail address), sent; and, when the mail sink's folder is known,
//     exactly one mail in it to the case's address;
//   - reporting: exactly one read-model row, its creation applied.
func verify(ctx context.Context, st *stores, mailDir string, since time.Time, cs []*tracked) ([]violation, error) {
	var out []violation
	bad := func(c *tracked, eff, format string, args ...any) {
		out = append(out, violation{CaseID: c.id, Tenant: c.spec.Target.Tenant, Effect: eff, Detail: fmt.Sprintf(format, args...)})
	}
	if len(cs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(cs))
	tenants := make([]string, len(cs))
	for i, c := range cs {
		ids[i], tenants[i] = c.id, c.spec.Target.Tenant
	}

	// Owner.
	type owner struct {
		n   int
		key string // the owner's queue: staff:<id> or role:<role>
	}
	owners := map[string]owner{}
	rows, err := st.routing.Query(ctx, `SELECT case_id::text, count(*), min(owner_id), min(owner_role)
		FROM assignments WHERE case_id = ANY($1::uuid[]) GROUP BY case_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("read assignments: %w", err)
	}
	for rows.Next() {
		var id, staff, role string
		var n int
		if err := rows.Scan(&id, &n, &staff, &role); err != nil {
			rows.Close()
			return nil, err
		}
		k := "staff:" + staff
		if staff == "" {
			k = "role:" + role
		}
		owners[id] = owner{n: n, key: k}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		if n := owners[c.id].n; n != 1 {
			bad(c, "owner", "%d assignments", n)
		}
	}

	// Queue entries, branch by branch.
	byBranch := map[string][]*tracked{}
	for _, c := range cs {
		p := queuePrefix(c.spec.Target.Tenant, c.spec.Target.Branch)
		byBranch[p] = append(byBranch[p], c)
	}
	prefixes := make([]string, 0, len(byBranch))
	for p := range byBranch {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	for _, p := range prefixes {
		ownerQueues, err := st.redis.scan(ctx, p+"q:*")
		if err != nil {
			return nil, fmt.Errorf("list owner queues of %s: %w", p, err)
		}
		slices.Sort(ownerQueues)
		branch := byBranch[p]
		for start := 0; start < len(branch); start += 500 {
			chunk := branch[start:min(len(branch), start+500)]
			var cmds [][]string
			for _, c := range chunk {
				cmds = append(cmds, []string{"ZSCORE", p + "queue", c.id})
				for _, q := range ownerQueues {
					cmds = append(cmds, []string{"ZSCORE", q, c.id})
				}
			}
			replies := st.redis.pipeline(ctx, cmds)
			for i, c := range chunk {
				rs := replies[i*(1+len(ownerQueues)):]
				if err := rs[0].err; err != nil && err != errNil {
					return nil, fmt.Errorf("read branch queue %squeue: %w", p, err)
				} else if err == errNil {
					bad(c, "queue", "not in the branch queue %squeue", p)
				}
				var in []string
				for j, q := range ownerQueues {
					switch err := rs[1+j].err; {
					case err == nil:
						in = append(in, strings.TrimPrefix(q, p+"q:"))
					case err != errNil:
						return nil, fmt.Errorf("read owner queue %s: %w", q, err)
					}
				}
				switch want := owners[c.id].key; {
				case len(in) != 1:
					bad(c, "queue", "in %d owner queues of %s %v", len(in), p, in)
				case owners[c.id].n == 1 && in[0] != want:
					bad(c, "queue", "in owner queue %s, but routing has it owned by %s", in[0], want)
				}
			}
		}
	}

	// Deadlines.
	kinds := map[string]map[string]int{}
	rows, err = st.slatimer.Query(ctx, `SELECT case_id::text, kind, count(*) FROM deadlines
		WHERE case_id = ANY($1::uuid[]) GROUP BY case_id, kind`, ids)
	if err != nil {
		return nil, fmt.Errorf("read deadlines: %w", err)
	}
	for rows.Next() {
		var id, kind string
		var n int
		if err := rows.Scan(&id, &kind, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if kinds[id] == nil {
			kinds[id] = map[string]int{}
		}
		kinds[id][kind] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		for _, k := range creationKinds(c.spec.Complaint) {
			if kinds[c.id][k] == 0 {
				bad(c, "deadlines", "%s missing", k)
			}
		}
		for _, k := range sortedKeys(kinds[c.id]) {
			if n := kinds[c.id][k]; n > 1 {
				bad(c, "deadlines", "%s armed %d times", k, n)
			}
		}
	}

	// Acknowledgment deliveries.
	acks := map[string][]string{} // case → "channel status" of each acknowledgment delivery
	rows, err = st.notification.Query(ctx, `SELECT case_id::text, channel, status FROM deliveries
		WHERE case_id = ANY($1::uuid[]) AND template = $2 ORDER BY case_id, created_at`, ids, ackTemplate)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	for rows.Next() {
		var id, ch, status string
		if err := rows.Scan(&id, &ch, &status); err != nil {
			rows.Close()
			return nil, err
		}
		acks[id] = append(acks[id], ch+" "+status)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		switch a := acks[c.id]; {
		case len(a) != 1:
			bad(c, "ack_delivered", "%d acknowledgment deliveries %v", len(a), a)
		case a[0] != "email SENT":
			bad(c, "ack_delivered", "acknowledgment not sent: %s", a[0])
		}
	}

	// The mails themselves.
	if mailDir != "" {
		counts, err := mailsTo(mailDir, since)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if n := counts[strings.ToLower(c.spec.Email)]; n != 1 {
				bad(c, "mail", "%d mails to %s in %s", n, c.spec.Email, mailDir)
			}
		}
	}

	// Reporting.
	type rm struct {
		n       int
		created bool
	}
	rms := map[string]rm{}
	rows, err = st.reporting.Query(ctx, `SELECT r.case_id, count(*), bool_and(r.received_at IS NOT NULL) FROM case_facts r
		JOIN unnest($1::text[], $2::text[]) AS p(tenant_id, case_id) ON r.tenant_id = p.tenant_id AND r.case_id = p.case_id
		GROUP BY r.case_id`, tenants, ids)
	if err != nil {
		return nil, fmt.Errorf("read case_facts: %w", err)
	}
	for rows.Next() {
		var id string
		var x rm
		if err := rows.Scan(&id, &x.n, &x.created); err != nil {
			rows.Close()
			return nil, err
		}
		rms[id] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		switch x := rms[c.id]; {
		case x.n != 1:
			bad(c, "reporting", "%d read-model rows", x.n)
		case !x.created:
			bad(c, "reporting", "row without its creation applied")
		}
	}
	return out, nil
}

// mailsTo counts the mails in the mail sink's folder that arrived since
// (the file names start with the arrival's Unix nanoseconds) per envelope
// recipient, lower-cased.
func mailsTo(dir string, since time.Time) (map[string]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read mail folder: %w", err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".eml") || strings.HasPrefix(name, ".") {
			continue
		}
		stamp, _, _ := strings.Cut(name, "-")
		if ns, err := strconv.ParseInt(stamp, 10, 64); err == nil && ns < since.UnixNano() {
			continue
		}
		m, err := localinfra.ReadMessage(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		to := m.EnvelopeTo
		if len(to) == 0 {
			to = m.To
		}
		for _, a := range to {
			counts[strings.ToLower(strings.Trim(a, "<> "))]++
		}
	}
	return counts, nil
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
