package drilltest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink/internal/redistest"
)

// pgProc is a private PostgreSQL cluster in a temporary directory,
// listening on a free loopback port (and a socket in its directory), run
// as the postgres user.
type pgProc struct {
	bin  string // the directory holding initdb and pg_ctl
	dir  string // owned by postgres: data/, the log and the socket
	port int
}

// pgCommandTimeout bounds each initdb and pg_ctl run.
const pgCommandTimeout = 2 * time.Minute

// startPostgres initialises a cluster (trust, superuser postgres) and
// starts it; the test's cleanup stops it (fast) and removes its
// directory. Without initdb/pg_ctl, runuser or a postgres user, or when
// not run as root, the test is skipped, or fails when CI is set.
func startPostgres(t *testing.T) *pgProc {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the PostgreSQL drill runs initdb and pg_ctl as the postgres user: run it as root")
	}
	bin := pgBinDir()
	if bin == "" {
		skipOrFail(t, "initdb and pg_ctl are not installed: install PostgreSQL (Debian: apt-get install postgresql) to run this drill")
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		skipOrFail(t, "runuser is not installed: it runs initdb and pg_ctl as the postgres user")
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		skipOrFail(t, "no postgres user to run the private PostgreSQL server as: "+err.Error())
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	// not t.TempDir: its parents are not open to the postgres user
	dir, err := os.MkdirTemp("", "tracklink-pgdrill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	p := &pgProc{bin: bin, dir: dir}
	if out, err := p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	for range 5 {
		if p.port, err = redistest.FreePort(); err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		if err = p.start(); err == nil {
			break
		}
		// most likely the port was taken meanwhile
	}
	if err != nil {
		t.Fatalf("start a private PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
			t.Logf("stop the private PostgreSQL: %v: %s", err, out)
		}
	})
	return p
}

// pgBinDir finds initdb and pg_ctl on PATH, else in the newest
// /usr/lib/postgresql/*/bin.
func pgBinDir() string {
	initdb, err1 := exec.LookPath("initdb")
	pgctl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil && filepath.Dir(initdb) == filepath.Dir(pgctl) {
		return filepath.Dir(initdb)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // 9.6 < 15 < 16
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		return int(va*100) - int(vb*100)
	})
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func (p *pgProc) data() string { return filepath.Join(p.dir, "data") }

// URL is the connection string of the server's postgres database.
func (p *pgProc) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// run runs one of the server's programs as the postgres user.
func (p *pgProc) run(prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)...)
	cmd.Dir = p.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // the server must not hold our pipes
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// start starts the server and waits until it accepts connections (after
// crash recovery, when it was killed).
//
// fsync is off: the drills crash the server process, not the machine, and
// a commit has written its WAL to the kernel before it returns, so a
// process crash loses nothing that was committed.
func (p *pgProc) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", p.port, p.dir)
	out, err := p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-o", opts, "-w", "-t", "90", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s; log: %s", err, out, lastLines(string(log), 10))
	}
	return nil
}

// crash stops the server as a crash would: pg_ctl stop -m immediate
// (backends quit at once, no checkpoint; the next start recovers from
// the WAL).
func (p *pgProc) crash(t *testing.T) {
	t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v: %s", err, out)
	}
}

// restart starts the server again after crash.
func (p *pgProc) restart(t *testing.T) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
