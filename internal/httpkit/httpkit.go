// Package httpkit holds the small helpers the admin API and the portal
// share: reading IDs from paths and cutting bodies for display.
package httpkit

import (
	"strconv"
	"unicode/utf8"
)

// ParseID reads a positive decimal ID as written in a path: digits only,
// no sign, no leading zero, within int64.
func ParseID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Excerpt returns at most n bytes of s, cut at a rune boundary, and
// whether it cut anything.
func Excerpt(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
