// Package drilltest holds fault drills of the production wiring (sessions
// on Redis or in memory, the ledger on PostgreSQL): each test starts a
// private server on a free loopback port, kills it while browsers land and
// a payment provider delivers orders, starts it again, and checks that
// pages kept answering and that every order the receiver acknowledged is
// recorded exactly once. The package holds tests only.
package drilltest
