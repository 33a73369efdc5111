//go:build !race

package floodtest

const race = false
