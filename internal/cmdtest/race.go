//go:build race

package cmdtest

// race is set when the test binary is built with -race; Build then builds
// the program with -race too.
const race = true
