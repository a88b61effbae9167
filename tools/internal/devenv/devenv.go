// Package devenv reads the endpoints file `make up` writes
// (.devstack/endpoints.env): one KEY=value a line, # comments.
package devenv

import (
	"bufio"
	"os"
	"strings"
)

// Read returns the file's values. A file that cannot be opened gives an
// empty map and the error (tools that can do without it ignore the error).
func Read(path string) (map[string]string, error) {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out, sc.Err()
}
