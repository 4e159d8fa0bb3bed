package httpkit

import "testing"

func TestParseID(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "42": true, "9223372036854775807": true,
		"": false, "0": false, "01": false, "+1": false, "-1": false, "1a": false, " 1": false, "9223372036854775808": false} {
		if _, ok := ParseID(s); ok != want {
			t.Errorf("ParseID(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

func TestExcerptCutsOnRuneBoundary(t *testing.T) {
	if got, cut := Excerpt("héllo", 2); got != "h" || !cut {
		t.Errorf("Excerpt = %q, %v", got, cut)
	}
	if got, cut := Excerpt("abc", 3); got != "abc" || cut {
		t.Errorf("Excerpt = %q, %v", got, cut)
	}
}
