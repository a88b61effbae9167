package routing

import (
	"errors"
	"testing"
	"time"
)

func TestAssignNew(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	staff := []Staff{
		{ID: "t1", Role: RoleTeller, Active: true},
		{ID: "t2", Role: RoleTeller, Active: false},
		{ID: "lm", Role: RoleLobbyManager, Active: true},
		{ID: "cm", Role: RoleComplaintManager, Active: true},
		{ID: "bh", Role: RoleBranchHead, Active: true},
	}
	tests := []struct {
		name       string
		staff      []Staff
		reporter   string
		wantOwner  string
		wantReason string
		wantErr    error
	}{
		{"the reporting teller owns the case", staff, "t1", "t1", ReasonFirstResponder, nil},
		{"no reporter: the complaint manager owns it", staff, "", "cm", ReasonComplaintManager, nil},
		{"an inactive reporter: the complaint manager owns it", staff, "t2", "cm", ReasonComplaintManager, nil},
		{"a reporter from elsewhere: the complaint manager owns it", staff, "x9", "cm", ReasonComplaintManager, nil},
		{"no complaint manager: the lobby manager stands in", staff[:3], "", "lm", ReasonComplaintManager, nil},
		{"only a branch head: the branch head stands in", []Staff{staff[0], staff[4]}, "", "bh", ReasonComplaintManager, nil},
		{"nobody with authority: refused", staff[:1], "", "", "", ErrNoOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := AssignNew(Branch{ID: "b1", Staff: tt.staff}, "c1", "bank", tt.reporter, at)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Owner != tt.wantOwner || a.Reason != tt.wantReason || a.FirstResponder != tt.wantOwner {
				t.Errorf("got %+v", a)
			}
		})
	}
}
