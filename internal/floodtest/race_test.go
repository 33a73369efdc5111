//go:build race

package floodtest

// race is set when the test binary is built with -race, which makes each
// landing several times dearer: the flood is then halved (and maxmemory
// with it, so that it is still exceeded).
const race = true
