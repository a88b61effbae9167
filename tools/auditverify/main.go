// Command auditverify checks the audit trails intake keeps for one bank:
// every case's MAC chain, and each chain against its anchors (so that cut-off
// records show). It prints one line per broken case naming the first entry
// that does not hold, then a summary, and exits 1 if any trail is broken, 0
// if all hold, 2 if it could not check at all.
//
//	DATABASE_URL=postgres://... AUDIT_MAC_KEYS=k2:...,k1:... go run ./tools/auditverify --tenant bank-a
//
// AUDIT_MAC_KEYS is read from the environment only, never from a flag: a
// command line is visible to every user of the machine. The tool only reads,
// in one read-only snapshot: it never migrates, seals or repairs anything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/counterdesk/counterdesk/services/intake/audittrail"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Exit codes.
const (
	exitIntact   = 0
	exitBroken   = 1
	exitNotDone  = 2
	usageTrailer = "usage: auditverify --tenant <bank> [--database-url URL]   (env: DATABASE_URL, AUDIT_MAC_KEYS)"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// summary counts what was verified.
type summary struct {
	cases, broken, entries, legacy, anchored int
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("auditverify", flag.ContinueOnError)
	flags.SetOutput(stderr)
	tenant := flags.String("tenant", "", "the bank (tenant id) whose cases to verify")
	dbURL := flags.String("database-url", "", "intake's Postgres (default: $DATABASE_URL)")
	if err := flags.Parse(args); err != nil {
		return exitNotDone
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "auditverify: %v\n", err)
		return exitNotDone
	}
	if *tenant == "" || flags.NArg() > 0 {
		return fail(errors.New("--tenant is required and there are no arguments\n" + usageTrailer))
	}
	url := *dbURL
	if url == "" {
		url = getenv("DATABASE_URL")
	}
	if url == "" {
		return fail(errors.New("no database: set DATABASE_URL or --database-url\n" + usageTrailer))
	}
	keys, err := audittrail.ParseKeys(getenv("AUDIT_MAC_KEYS"))
	if err != nil {
		return fail(err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx only tries to redact a password from its parse errors: say less.
		return fail(errors.New("the database URL is not a valid Postgres connection string"))
	}
	// Under intake's row-level security a role subject to it sees only the
	// bank its connection names (pgdb's policy on counterdesk.tenant): name
	// the bank verified, so that such a role (an auditor's, the app's) sees
	// that bank, and no other. Roles that bypass the policy are unaffected.
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `SELECT set_config('counterdesk.tenant', $1, false)`, *tenant)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fail(fmt.Errorf("connect to intake's database: %w", err))
	}
	defer pool.Close()

	var s summary
	err = audittrail.VerifyTenant(ctx, pool, keys, *tenant, func(caseID string, v audittrail.Verification) error {
		s.cases++
		s.entries += v.Entries
		s.legacy += v.LegacyEntries
		if v.AnchoredSeq > 0 {
			s.anchored++
		}
		if !v.OK {
			s.broken++
			_, err := fmt.Fprintf(stdout, "case %s: first broken link at seq %d: %s\n", caseID, v.FirstBroken.Seq, v.FirstBroken.Reason)
			return err
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("verify the audit trails of %s: %w", *tenant, err))
	}
	detail := fmt.Sprintf("(%d entries, %d of them legacy; %d cases anchored)", s.entries, s.legacy, s.anchored)
	switch {
	case s.broken > 0:
		fmt.Fprintf(stdout, "tenant %s: %d of %d cases broken %s\n", *tenant, s.broken, s.cases, detail)
		return exitBroken
	case s.cases == 0:
		fmt.Fprintf(stdout, "tenant %s: no cases found\n", *tenant)
		fmt.Fprintf(stderr, "auditverify: nothing to verify for tenant %q: is the tenant id right?\n", *tenant)
	default:
		fmt.Fprintf(stdout, "tenant %s: all %d cases intact %s\n", *tenant, s.cases, detail)
	}
	return exitIntact
}
