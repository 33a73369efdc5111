// Package floodtest holds the flood test (test files only): anonymous
// landings fill a private Redis with a small maxmemory while paid orders
// flow through the webhook receiver into the same Redis, and the test
// checks that every order is counted exactly once and that anonymous input
// leaves nothing behind that does not expire. It needs redis-server on
// PATH (skipped without it, failing when CI is set).
package floodtest
