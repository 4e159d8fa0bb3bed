//go:build race

package main

// raceEnabled: under the race detector the pure-Go SQLite runs an order of
// magnitude slower, so TestQuickRun shrinks the sizes further.
const raceEnabled = true
