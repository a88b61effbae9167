package casesgrpc

import (
	"context"
	"fmt"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"google.golang.org/protobuf/proto"
)

// VerifyCaseAudit answers whether a case's audit trail is intact. Whoever
// may read the case as GetCase decides (the roles that read cases, then
// cases.View's tenant and branch/region scope) may ask; a case outside the
// caller's scope, another bank's included, is NotFound, as one that does not
// exist. The answer carries counts and the first break, never an entry,
// actor or detail of the trail.
func (s *Server) VerifyCaseAudit(ctx context.Context, req *intakev1.VerifyCaseAuditRequest) (*intakev1.VerifyCaseAuditResponse, error) {
	caller, err := authorize(ctx, actVerifyAudit)
	if err != nil {
		return nil, err
	}
	// The same decision as GetCase, without unsealing the customer: that
	// needs only the case's tenant, branch and region.
	c, err := s.Store.Locate(ctx, caller.Tenant, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	if _, err := cases.View(c, caller); err != nil {
		return nil, toStatus(err)
	}
	v, err := s.Store.VerifyAudit(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("verify audit of case %s: %w", c.ID, err)
	}
	return verificationProto(v), nil
}

func verificationProto(v cases.Verification) *intakev1.VerifyCaseAuditResponse {
	resp := &intakev1.VerifyCaseAuditResponse{
		Ok: proto.Bool(v.OK), Entries: proto.Int32(int32(v.Entries)),
		LegacyEntries: proto.Int32(int32(v.LegacyEntries)), AnchoredSeq: proto.Int32(int32(v.AnchoredSeq)),
	}
	if b := v.FirstBroken; b != nil {
		resp.FirstBroken = &intakev1.AuditBreak{Seq: int32(b.Seq), Reason: b.Reason}
	}
	return resp
}
