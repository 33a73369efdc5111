//go:build !race

package cmdtest

const race = false
