package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// The quickstart is the README's first command: it must run to the end.
func TestQuickstartRuns(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))
	require.Contains(t, out.String(), "8 signatures verified, 0 rejected")
	require.Contains(t, out.String(), "503 (failing on purpose)")
	// Whichever delivery reached the flaky endpoint first failed once and
	// succeeded on its retry.
	require.Regexp(t, `\n\d+\s+2\s+inspection\.\w+\s+SUCCESS\s+2\s+200`, out.String(), "the flaky endpoint got it on the retry")
}
