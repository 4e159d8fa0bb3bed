package webhooks_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

func TestRetryPolicyDefaultsAndJitter(t *testing.T) {
	p := webhooks.RetryPolicy{}
	for i, want := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		for range 50 {
			got := p.Delay(i+1, 0)
			require.InDelta(t, float64(want), float64(got), float64(want)/10+1, "retry %d", i+1)
		}
	}
	exact := webhooks.RetryPolicy{Schedule: []time.Duration{time.Second, time.Hour}, Jitter: -1}
	require.Equal(t, time.Second, exact.Delay(1, 0))
	require.Equal(t, time.Hour, exact.Delay(2, 0))
	require.Equal(t, time.Hour, exact.Delay(9, 0))
}

func TestRetryAfterHonouredWithinBounds(t *testing.T) {
	p := webhooks.RetryPolicy{Schedule: []time.Duration{time.Minute}, Jitter: -1, MaxRetryAfter: 10 * time.Minute}
	require.Equal(t, 3*time.Minute, p.Delay(1, 3*time.Minute), "longer Retry-After wins")
	require.Equal(t, time.Minute, p.Delay(1, 10*time.Second), "never sooner than the schedule")
	require.Equal(t, 10*time.Minute, p.Delay(1, 48*time.Hour), "capped")

	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	require.Zero(t, webhooks.ParseRetryAfter(h, now))
	h.Set("Retry-After", "120")
	require.Equal(t, 2*time.Minute, webhooks.ParseRetryAfter(h, now))
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	require.Equal(t, 90*time.Second, webhooks.ParseRetryAfter(h, now))
	for _, bad := range []string{"-5", "soon", "0", now.Add(-time.Hour).Format(http.TimeFormat)} {
		h.Set("Retry-After", bad)
		require.Zero(t, webhooks.ParseRetryAfter(h, now), bad)
	}
}
