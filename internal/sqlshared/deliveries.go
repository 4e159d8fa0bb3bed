package sqlshared

import (
	"fmt"
	"sort"

	"github.com/webhookkit/webhooks"
)

// ListLimit is the page size of a list call asked for limit: defaultLimit
// when limit <= 0, at most maxLimit.
func ListLimit(limit, defaultLimit, maxLimit int) int {
	if limit <= 0 {
		limit = defaultLimit
	}
	return min(limit, maxLimit)
}

// CheckCompletionStatuses fails, with an error wrapping webhooks.ErrInvalid,
// when a completion's status is other than SUCCESS, RETRYING or FAILED.
func CheckCompletionStatuses(cs []webhooks.Completion) error {
	for _, c := range cs {
		switch c.Status {
		case webhooks.StatusSuccess, webhooks.StatusRetrying, webhooks.StatusFailed:
		default:
			return fmt.Errorf("complete delivery %d: status %q: %w", c.DeliveryID, c.Status, webhooks.ErrInvalid)
		}
	}
	return nil
}

// SortClaimed puts claimed deliveries in the order Claim returns them:
// by NextAttemptAt, then by ID.
func SortClaimed(out []*webhooks.ClaimedDelivery) {
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i].Delivery, &out[j].Delivery
		if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		return a.ID < b.ID
	})
}
