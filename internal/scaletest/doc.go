// Package scaletest holds tracklink's scale-out tests (test files only):
// several app instances sharing one Redis Cluster, and a failover drill
// that kills a master of a private cluster mid-run. They need
// TRACKLINK_REDIS_CLUSTER (see internal/redistest.Cluster) and redis-server
// (for the drill's private cluster, scripts/redis-cluster.sh).
package scaletest
