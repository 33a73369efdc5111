package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterEnv names the environment variable holding the seed addresses of
// the shared Redis Cluster the cluster tests use, comma-separated.
const ClusterEnv = "TRACKLINK_REDIS_CLUSTER"

var (
	clusterOnce  sync.Once
	clusterErr   error
	clusterSeeds []string
)

// ClusterSeeds returns the seed addresses of TRACKLINK_REDIS_CLUSTER (nil
// when unset) and whether the cluster answered with cluster_state:ok. It
// probes once per test binary.
func ClusterSeeds() ([]string, error) {
	clusterOnce.Do(func() {
		v := strings.TrimSpace(os.Getenv(ClusterEnv))
		if v == "" {
			return
		}
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				clusterSeeds = append(clusterSeeds, a)
			}
		}
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterSeeds, MaxRetries: -1, DialTimeout: time.Second})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := rdb.ClusterInfo(ctx).Result()
		switch {
		case err != nil:
			clusterErr = err
		case !strings.Contains(info, "cluster_state:ok"):
			clusterErr = errors.New("cluster_state is not ok")
		}
	})
	return clusterSeeds, clusterErr
}

// Cluster returns a client of the shared Redis Cluster named by
// TRACKLINK_REDIS_CLUSTER, closed when the test ends. When the variable is
// unset the test is skipped, or fails when CI is set; a cluster that does
// not answer always fails the test. Give the test its own Prefix.
//
// To run the cluster tests locally:
//
//	export TRACKLINK_REDIS_CLUSTER=$(scripts/redis-cluster.sh start /tmp/tlc auto 1)
//	go test -race ./...
//	scripts/redis-cluster.sh stop /tmp/tlc
func Cluster(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	seeds, err := ClusterSeeds()
	if seeds == nil {
		msg := ClusterEnv + " is not set: start a cluster with `export " + ClusterEnv +
			"=$(scripts/redis-cluster.sh start /tmp/tlc auto 1)` to run the Redis Cluster tests " +
			"(`scripts/redis-cluster.sh stop /tmp/tlc` afterwards)"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg + " (CI is set)")
		}
		tb.Skip(msg)
	}
	if err != nil {
		tb.Fatalf("redis cluster %s does not answer: %v", strings.Join(seeds, ","), err)
	}
	return NewClusterClient(tb, seeds)
}

// NewClusterClient returns a test client of the cluster at seeds, closed
// when the test ends: calls bounded by the context (ContextTimeoutEnabled)
// and otherwise only by generous timeouts (see Client), node clients that
// do not retry, and a pool big enough for the suites' hundreds of
// goroutines.
func NewClusterClient(tb testing.TB, seeds []string) *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 seeds,
		ContextTimeoutEnabled: true,
		DialTimeout:           testTimeout,
		ReadTimeout:           testTimeout,
		WriteTimeout:          testTimeout,
		PoolSize:              testPoolSize,
		PoolTimeout:           testPoolTimeout,
		MaxRetries:            -1,
		MinRetryBackoff:       8 * time.Millisecond,
		MaxRetryBackoff:       64 * time.Millisecond,
	})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// ClusterNode is one redis-server of a cluster started by StartCluster.
type ClusterNode struct {
	Addr    string // 127.0.0.1:port
	Port    int
	PIDFile string
	Replica bool // started as a replica (nodes 4 to 6)
}

// Kill sends SIGKILL to the node (by its pidfile), as a crash would.
func (n ClusterNode) Kill() error {
	b, err := os.ReadFile(n.PIDFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pidfile %s: %w", n.PIDFile, err)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// ScriptPath returns the path of scripts/redis-cluster.sh in the module.
func ScriptPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "redis-cluster.sh")
}

// clusterStartLimit bounds starting a private cluster, all attempts
// together. It takes seconds on an idle machine and has taken 44 s at a
// load average of 14 on 2 cores (six servers, a cluster create, replicas
// syncing); only a real hang reaches the limit.
const clusterStartLimit = 4 * time.Minute

// StartCluster starts a private Redis Cluster for a destructive test (a
// failover drill) with scripts/redis-cluster.sh in a temporary directory
// on free ports, and stops it when the test ends. It has 3 masters and,
// with replicas, one replica each. It returns the masters' addresses (the
// seeds) and all nodes, masters first. Without redis-server the test is
// skipped, or fails when CI is set. The script polls until the cluster is
// ready; clusterStartLimit bounds the whole start.
func StartCluster(tb testing.TB, replicas bool) (seeds []string, nodes []ClusterNode) {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server is not installed (CI is set)")
		}
		tb.Skip("redis-server is not installed")
	}
	n, r := 3, "0"
	if replicas {
		n, r = 6, "1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartLimit)
	defer cancel()
	var lastErr error
	for range 5 {
		dir := tb.TempDir() // a fresh one per attempt
		// A random range away from the shared cluster's (17000 up), so
		// that test binaries running in parallel rarely collide; the
		// script refuses a busy range and we try another.
		base := 20000 + 10*rand.IntN(2000)
		cmd := exec.CommandContext(ctx, "bash", ScriptPath(), "start", dir, strconv.Itoa(base), r)
		cmd.WaitDelay = 10 * time.Second // a killed script's children may hold its output open
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			// The script stops what it started when it fails, but not
			// when it is killed at the deadline: stop the nodes its
			// pidfiles name, if any.
			stopCluster(tb, dir)
			lastErr = fmt.Errorf("%v: %s", err, stderr.String())
			if ctx.Err() != nil {
				tb.Fatalf("start a private redis cluster: not ready within %v: %v", clusterStartLimit, lastErr)
			}
			continue
		}
		tb.Cleanup(func() { stopCluster(tb, dir) })
		seeds = strings.Split(strings.TrimSpace(stdout.String()), ",")
		for i := range n {
			port := base + i
			nodes = append(nodes, ClusterNode{
				Addr:    "127.0.0.1:" + strconv.Itoa(port),
				Port:    port,
				PIDFile: filepath.Join(dir, strconv.Itoa(port)+".pid"),
				Replica: i >= 3,
			})
		}
		return seeds, nodes
	}
	tb.Fatalf("start a private redis cluster: %v", lastErr)
	return nil, nil
}

// stopCluster stops the nodes scripts/redis-cluster.sh started in dir, if
// it got as far as making dir its own (its marker file).
func stopCluster(tb testing.TB, dir string) {
	if _, err := os.Stat(filepath.Join(dir, ".tracklink-redis-cluster")); err != nil {
		return
	}
	out, err := exec.Command("bash", ScriptPath(), "stop", dir).CombinedOutput()
	if err != nil {
		tb.Logf("stop cluster in %s: %v: %s", dir, err, out)
	}
}
