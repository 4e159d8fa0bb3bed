package webhooks

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy decides when a failed delivery is tried again. The zero value
// is the TGM Expert schedule: first attempt at once, then retries after 1,
// 5 and 15 minutes, ±10% jitter.
type RetryPolicy struct {
	// Schedule[i] is the delay before retry i+1; past its end the last delay
	// repeats. How many retries happen is the webhook's MaxRetries.
	// Default DefaultRetrySchedule.
	Schedule []time.Duration
	// Jitter spreads each delay by up to ±Jitter of itself, so endpoints
	// recovering from an outage are not hit by every retry at once.
	// Default 0.1; negative: none.
	Jitter float64
	// MaxRetryAfter caps how long a Retry-After header may delay a retry; a
	// longer one is cut to this. Default 1 hour.
	MaxRetryAfter time.Duration
}

// DefaultRetrySchedule is the seed's: 1, 5 and 15 minutes.
var DefaultRetrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// Delay returns the wait before retry number retry (1 for the first retry).
// retryAfter is the endpoint's Retry-After (0 when absent): the delay is at
// least that, capped at MaxRetryAfter.
func (p RetryPolicy) Delay(retry int, retryAfter time.Duration) time.Duration {
	sched := p.Schedule
	if len(sched) == 0 {
		sched = DefaultRetrySchedule
	}
	d := sched[min(max(retry, 1), len(sched))-1]
	jitter := p.Jitter
	if jitter == 0 {
		jitter = 0.1
	}
	if jitter > 0 && d > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * jitter * float64(d))
	}
	if retryAfter > 0 {
		maxRA := p.MaxRetryAfter
		if maxRA <= 0 {
			maxRA = time.Hour
		}
		d = max(d, min(retryAfter, maxRA))
	}
	return max(d, 0)
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// relative to now. It returns 0 when absent or unreadable.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 365*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// GoneReason is recorded when an endpoint answers 410 Gone: it asked to
// receive nothing more, so the webhook is disabled at once.
const GoneReason = "endpoint answered 410 Gone"

// outcome turns one attempt into the delivery's next state. attempts counts
// attempts made including this one.
func (p RetryPolicy) outcome(status int, header http.Header, attempts, maxRetries int, now time.Time) (DeliveryStatus, time.Time, string) {
	switch {
	case status >= 200 && status <= 299:
		return StatusSuccess, time.Time{}, ""
	case status == http.StatusGone:
		return StatusFailed, time.Time{}, GoneReason
	case attempts > maxRetries:
		return StatusFailed, time.Time{}, ""
	}
	var ra time.Duration
	if header != nil {
		ra = ParseRetryAfter(header, now)
	}
	return StatusRetrying, now.Add(p.Delay(attempts, ra)), ""
}
