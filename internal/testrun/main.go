// Command testrun runs the project's tests and ends with what a newcomer
// needs to know: how many tests passed, failed and were skipped, and why
// they were skipped (no Redis, no Redis Cluster, no PostgreSQL, no
// Chromium), grouped so that forty Cluster tests make one line.
//
//	go run ./internal/testrun              # go test -race -count=1 ./...
//	go run ./internal/testrun ./webhook/...  # other packages
//	go run ./internal/testrun -run TestX ./report
//
// Arguments are passed to go test; when none names a package, ./... is
// added. -race is dropped (and the run says so) where the race detector
// cannot build: cgo disabled or no C compiler. It prints each package's
// result as go test does, the output of every failing test, and as its
// last line "N passed, N failed, N skipped". The exit status is go test's.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	args := os.Args[1:]
	flags := []string{"-json", "-count=1"}
	if raceBuilds() {
		flags = append(flags, "-race")
	} else {
		fmt.Println("testrun: no C compiler for the race detector (cgo); running without -race")
	}
	if !namesPackage(args) {
		args = append(args, "./...")
	}
	start := time.Now()
	cmd := exec.Command("go", append(append([]string{"test"}, flags...), args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout)
	s.read(out)
	err = cmd.Wait()
	s.finish(time.Since(start))
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	if s.failed > 0 {
		os.Exit(1)
	}
}

// namesPackage reports whether args hold a package pattern (an argument
// that is not a flag or a flag's value).
func namesPackage(args []string) bool {
	valueFlags := map[string]bool{"-run": true, "-skip": true, "-bench": true, "-timeout": true, "-count": true,
		"-cpu": true, "-parallel": true, "-tags": true, "-fuzz": true, "-fuzztime": true, "-benchtime": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if valueFlags[a] {
				i++
			}
			continue
		}
		return true
	}
	return false
}

// raceBuilds reports whether -race can build here: it needs cgo and a C
// compiler.
func raceBuilds() bool {
	out, err := exec.Command("go", "env", "CGO_ENABLED", "CC").Output()
	if err != nil {
		return false
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "1" {
		return false
	}
	_, err = exec.LookPath(f[1])
	return err == nil
}

type testKey struct{ pkg, test string }

type summary struct {
	w                       io.Writer
	passed, failed, skipped int
	output                  map[testKey][]string
	reasons                 map[string]int      // skip reason → tests
	reasonPkgs              map[string][]string // skip reason → packages
	failures                []string
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, output: map[testKey][]string{}, reasons: map[string]int{}, reasonPkgs: map[string][]string{}}
}

func (s *summary) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintln(s.w, sc.Text()) // not test2json: pass it on
			continue
		}
		s.event(e)
	}
}

func (s *summary) event(e event) {
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.w, e.Output) // compile errors
	case "output":
		if e.Test == "" {
			// Package-level lines: the "ok"/"FAIL"/"?" result is printed;
			// anything else (logs, a panic) only if the package fails.
			line := strings.TrimRight(e.Output, "\n")
			switch {
			case strings.HasPrefix(line, "ok  "), strings.HasPrefix(line, "?   "), strings.HasPrefix(line, "FAIL\t"):
				fmt.Fprintln(s.w, line)
			case line != "PASS" && line != "FAIL" && !strings.HasPrefix(line, "=== "):
				s.output[k] = append(s.output[k], e.Output)
			}
			return
		}
		s.output[k] = append(s.output[k], e.Output)
	case "pass":
		if e.Test == "" {
			delete(s.output, k)
		}
		if e.Test != "" {
			s.passed++
			delete(s.output, k)
		}
	case "skip":
		if e.Test != "" {
			s.skipped++
			r := skipReason(s.output[k])
			s.reasons[r]++
			if ps := s.reasonPkgs[r]; len(ps) == 0 || ps[len(ps)-1] != e.Package {
				s.reasonPkgs[r] = append(ps, e.Package)
			}
			delete(s.output, k)
		}
	case "fail":
		if e.Test == "" {
			for _, l := range s.output[k] {
				fmt.Fprint(s.w, l)
			}
			delete(s.output, k)
		}
		if e.Test != "" {
			s.failed++
			fmt.Fprintf(s.w, "--- FAIL: %s (%s)\n", e.Test, e.Package)
			for _, l := range s.output[k] {
				if !strings.HasPrefix(l, "=== ") {
					fmt.Fprint(s.w, l)
				}
			}
			s.failures = append(s.failures, e.Package+" "+e.Test)
			delete(s.output, k)
		}
	}
}

// fileLine is the "file_test.go:12: " prefix of a test log line.
var fileLine = regexp.MustCompile(`^\s*[\w./-]+\.go:\d+: `)

// skipReason is the message of a skipped test: its last log line before
// "--- SKIP", without the file:line prefix.
func skipReason(lines []string) string {
	var msg string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		if fileLine.MatchString(l) {
			msg = fileLine.ReplaceAllString(l, "")
		}
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "(no reason given)"
	}
	return msg
}

func (s *summary) finish(d time.Duration) {
	if len(s.reasons) > 0 {
		fmt.Fprintf(s.w, "\nSkipped tests, by reason:\n")
		rs := make([]string, 0, len(s.reasons))
		for r := range s.reasons {
			rs = append(rs, r)
		}
		sort.Slice(rs, func(i, j int) bool {
			if s.reasons[rs[i]] != s.reasons[rs[j]] {
				return s.reasons[rs[i]] > s.reasons[rs[j]]
			}
			return rs[i] < rs[j]
		})
		for _, r := range rs {
			pkgs := s.reasonPkgs[r]
			for i, p := range pkgs {
				pkgs[i] = strings.TrimPrefix(p, "github.com/tracklink/tracklink/")
			}
			fmt.Fprintf(s.w, "  %4d  %s\n        in %s\n", s.reasons[r], r, strings.Join(pkgs, ", "))
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(s.w, "\nFailed tests:\n")
		for _, f := range s.failures {
			fmt.Fprintf(s.w, "  %s\n", f)
		}
	}
	fmt.Fprintf(s.w, "\ntestrun: took %s\n", d.Round(time.Second))
	fmt.Fprintf(s.w, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}
