package stack

import (
	"encoding/base64"
	"strings"
)

// surveyKeys is notification's SURVEY_SIGNING_KEYS: each demo bank its own
// survey key, derived from the stack's secrets so links stay valid across
// restarts of the same stack.
func (s *Stack) surveyKeys() string {
	var out []string
	for _, t := range []string{DemoTenant, OtherTenant} {
		out = append(out, t+":dev1:"+base64.StdEncoding.EncodeToString([]byte(s.devSecret("survey "+t))))
	}
	return strings.Join(out, ",")
}
