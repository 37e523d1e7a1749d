// Package pins reads lists of checks pinned as expected failures and settles a suite's outcomes against them, so
// that a known gap fails no run while a new failure, or a pinned check that started passing, is always reported.
package pins
