package sqlshared

import "github.com/webhookkit/webhooks"

// MatchingEvent keeps, in place and in order, the webhooks of ws whose
// events match eventType (webhooks.MatchAny); nil when none does.
func MatchingEvent(ws []*webhooks.Webhook, eventType string) []*webhooks.Webhook {
	out := ws[:0]
	for _, w := range ws {
		if webhooks.MatchAny(w.Events, eventType) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
