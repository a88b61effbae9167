package stack

import (
	"fmt"
	"os"
	"path/filepath"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/orgfile"
)

// DemoOrgFiles are the demo banks' org files (tools/orgfile), relative to
// the repository: what `up` seeds, and what `devstack staff` and
// `devstack token <staffId>` read. They are read at run time, not embedded
// (go:embed cannot reach deploy/ from the tools module), so an edited file
// is seeded by the next `make up` without a rebuild.
var DemoOrgFiles = []struct{ Tenant, Path string }{
	{DemoTenant, "deploy/demo/org-demo-bank.yaml"},
	{OtherTenant, "deploy/demo/org-demo-bank-2.yaml"},
}

// DemoBank is one demo bank's org tree, as its file has it.
type DemoBank struct {
	Tenant string
	File   string // the file it was read from
	Org    *routingv1.ImportOrgRequest
}

// DemoBanks are the demo banks, in DemoOrgFiles' order.
type DemoBanks []DemoBank

// FindRepoDir returns the nearest directory at or above the working
// directory that holds the demo org files: the repository root when the
// devstack or the e2e tests run anywhere inside it.
func FindRepoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, DemoOrgFiles[0].Path)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in the working directory or above: run from the repository or pass --repo", DemoOrgFiles[0].Path)
		}
		dir = parent
	}
}

// LoadDemoBanks reads and checks the demo banks' org files under repoDir
// (empty: FindRepoDir). A staff id may belong to one bank only, so that
// `devstack token <staffId>` knows whose it is.
func LoadDemoBanks(repoDir string) (DemoBanks, error) {
	if repoDir == "" {
		var err error
		if repoDir, err = FindRepoDir(); err != nil {
			return nil, err
		}
	}
	var banks DemoBanks
	owner := map[string]string{} // staff id → tenant
	for _, f := range DemoOrgFiles {
		path := filepath.Join(repoDir, f.Path)
		org, err := orgfile.ParseFile(path)
		if err != nil {
			return nil, fmt.Errorf("demo org of %s:\n%w", f.Tenant, err)
		}
		for _, m := range org.GetStaff() {
			if other, dup := owner[m.GetId()]; dup {
				return nil, fmt.Errorf("%s: staff id %q is also a staff member of %s: demo staff ids must differ between banks", path, m.GetId(), other)
			}
			owner[m.GetId()] = f.Tenant
		}
		banks = append(banks, DemoBank{Tenant: f.Tenant, File: path, Org: org})
	}
	return banks, nil
}

// Principal is the principal of a demo staff member of either bank: their
// bank, role, branch and region as the file has them.
func (bs DemoBanks) Principal(staffID string) (auth.Principal, bool) {
	for _, b := range bs {
		for _, m := range b.Org.GetStaff() {
			if m.GetId() == staffID {
				return auth.Principal{Tenant: b.Tenant, Subject: m.GetId(), Role: auth.Role(orgfile.RoleName(m.GetRole())),
					Branch: m.GetBranchId(), Region: m.GetRegionId()}, true
			}
		}
	}
	return auth.Principal{}, false
}

// StaffOf lists the staff ids of a branch (of either bank), in the file's
// order; with an empty branch, all staff without a branch. It is an error
// when branch is not a branch of the files.
func (bs DemoBanks) StaffOf(branch string) ([]string, error) {
	known := branch == ""
	var out []string
	for _, b := range bs {
		for _, br := range b.Org.GetBranches() {
			known = known || br.GetId() == branch
		}
		for _, m := range b.Org.GetStaff() {
			if m.GetBranchId() == branch {
				out = append(out, m.GetId())
			}
		}
	}
	if !known {
		return nil, fmt.Errorf("no demo branch %q in %s", branch, bs.files())
	}
	return out, nil
}

func (bs DemoBanks) files() string {
	if len(bs) == 0 {
		return "no files"
	}
	s := bs[0].File
	for _, b := range bs[1:] {
		s += ", " + b.File
	}
	return s
}
