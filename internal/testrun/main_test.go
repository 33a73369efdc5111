package main

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestRedis","Output":"    redis_test.go:12: no Redis at 127.0.0.1:6379: start one\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestRedis"}`,
		`{"Action":"output","Package":"p/b","Test":"TestRedis2","Output":"    x.go:3: no Redis at 127.0.0.1:6379: start one\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestRedis2"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    x.go:9: want 2, got 3\n"}`,
		`{"Action":"fail","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/b","Output":"panic: boom\n"}`,
		`{"Action":"output","Package":"p/b","Output":"FAIL\tp/b\t0.1s\n"}`,
		`{"Action":"fail","Package":"p/b"}`,
		`{"Action":"output","Package":"p/a","Output":"redis: noisy log\n"}`,
		`{"Action":"pass","Package":"p/a"}`,
		`not json`,
	}, "\n")
	var out strings.Builder
	s := newSummary(&out)
	s.read(strings.NewReader(in))
	s.finish(0)
	got := out.String()
	for _, want := range []string{
		"--- FAIL: TestBad (p/b)", "want 2, got 3", "FAIL\tp/b\t0.1s", "panic: boom", "not json",
		"     2  no Redis at 127.0.0.1:6379: start one\n        in p/a, p/b",
		"\n1 passed, 1 failed, 2 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "1 passed, 1 failed, 2 skipped\n") {
		t.Errorf("the counts are not the last line:\n%s", got)
	}
}

func TestNamesPackage(t *testing.T) {
	for args, want := range map[string]bool{
		"": false, "-run TestX": false, "-run TestX ./report": true, "./...": true, "-short": false, "-v -count 3": false,
	} {
		if got := namesPackage(strings.Fields(args)); got != want {
			t.Errorf("namesPackage(%q) = %v, want %v", args, got, want)
		}
	}
}

func TestSummaryHidesPassingPackageLogs(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	s.read(strings.NewReader(`{"Action":"output","Package":"p/a","Output":"redis: noisy log\n"}` + "\n" +
		`{"Action":"output","Package":"p/a","Output":"ok  \tp/a\t0.1s\n"}` + "\n" + `{"Action":"pass","Package":"p/a"}`))
	if strings.Contains(out.String(), "noisy") || !strings.Contains(out.String(), "ok  \tp/a") {
		t.Errorf("got %q", out.String())
	}
}
