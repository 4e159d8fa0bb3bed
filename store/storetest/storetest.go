// Package storetest is the conformance suite of webhooks.Store: the
// executable form of the contract documented on the interface. A store
// package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) webhooks.Store { return mystore.Open(t) })
//	}
//
// The suite uses only the public API of the root package. Every subtest
// asks newStore for a fresh, empty store (isolation subtests ask twice and
// expect two independent clients' stores). Subtests never run in parallel,
// so stores backed by a shared server may reuse one database per subtest,
// and never sleep: time is a synthetic clock passed in the Now arguments,
// starting at Base. Times are compared with a tolerance of Tolerance and
// must come back in UTC.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// Base is the start of the synthetic clock every subtest uses:
// 2026-02-01 12:00:00 UTC.
var Base = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

// Tolerance is how far a stored time may drift from the one written
// (stores may keep only microseconds or milliseconds): 1 ms.
const Tolerance = time.Millisecond

// noLimit is the maxPerCompany the suite passes when it does not test the
// limit: large enough never to be reached.
const noLimit = 1 << 20

// Run runs the conformance suite against the store returned by newStore,
// one subtest per behaviour. newStore must return a fresh, empty store each
// time it is called; it may register cleanups with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
	t.Helper()
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore)
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, newStore func(t *testing.T) webhooks.Store)
}

// single adapts a test that needs one store.
func single(name string, fn func(t *testing.T, s webhooks.Store)) testCase {
	return testCase{name, func(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
		fn(t, newStore(t))
	}}
}

func cases() []testCase {
	var all []testCase
	all = append(all, webhookCases()...)
	all = append(all, matchCases()...)
	all = append(all, enqueueCases()...)
	all = append(all, claimCases()...)
	all = append(all, completeCases()...)
	all = append(all, historyCases()...)
	all = append(all, lifecycleCases()...)
	return all
}

// ---- helpers ----

var ctx = context.Background()

// at returns Base plus d.
func at(d time.Duration) time.Time { return Base.Add(d) }

func company(id int64) *int64 { return &id }

// newWebhook returns a valid webhook (as the Dispatcher would hand it to
// CreateWebhook) for company (nil: system-wide) subscribed to events.
func newWebhook(name string, companyID *int64, events ...string) *webhooks.Webhook {
	if events == nil {
		events = []string{}
	}
	return &webhooks.Webhook{
		CompanyID:                companyID,
		Name:                     name,
		URL:                      "https://receiver.example.com/hooks/" + name,
		Events:                   events,
		HTTPMethod:               http.MethodPost,
		ContentType:              "application/json",
		Timeout:                  30 * time.Second,
		MaxRetries:               3,
		VerifySSL:                true,
		AutoDisableAfterFailures: 10,
		IsActive:                 true,
		Secret:                   "whsec_" + name + "-0123456789abcdef",
		CreatedAt:                Base,
		UpdatedAt:                Base,
	}
}

// create stores w without a practical limit and returns its ID.
func create(t *testing.T, s webhooks.Store, w *webhooks.Webhook) int64 {
	t.Helper()
	require.NoError(t, s.CreateWebhook(ctx, w, noLimit))
	require.Positive(t, w.ID, "CreateWebhook must set ID")
	return w.ID
}

// createSimple stores a webhook subscribed to "*".
func createSimple(t *testing.T, s webhooks.Store, name string, companyID *int64) int64 {
	t.Helper()
	return create(t, s, newWebhook(name, companyID, "*"))
}

func payloadFor(eventID string) []byte {
	return []byte(`{"id":"` + eventID + `","type":"inspection.created","data":{"n":1}}`)
}

// ev returns an EnqueueEvent of type inspection.created.
func ev(eventID string, companyID *int64, createdAt time.Time, webhookIDs ...int64) webhooks.EnqueueEvent {
	return webhooks.EnqueueEvent{
		EventID:    eventID,
		EventType:  "inspection.created",
		CompanyID:  companyID,
		Payload:    payloadFor(eventID),
		CreatedAt:  createdAt,
		WebhookIDs: webhookIDs,
	}
}

// enqueue stores one event and returns the IDs of its deliveries, in the
// order of webhookIDs.
func enqueue(t *testing.T, s webhooks.Store, e webhooks.EnqueueEvent) []int64 {
	t.Helper()
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{e})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.False(t, res[0].Duplicate, "event %s is new", e.EventID)
	ids := make([]int64, len(res[0].Deliveries))
	for i, d := range res[0].Deliveries {
		require.Positive(t, d.ID)
		ids[i] = d.ID
	}
	return ids
}

// enqueueOne stores one event for one webhook and returns the delivery ID.
func enqueueOne(t *testing.T, s webhooks.Store, eventID string, createdAt time.Time, webhookID int64) int64 {
	t.Helper()
	ids := enqueue(t, s, ev(eventID, nil, createdAt, webhookID))
	require.Len(t, ids, 1)
	return ids[0]
}

func claim(t *testing.T, s webhooks.Store, now time.Time, limit int, lease time.Duration, exclude ...int64) []*webhooks.ClaimedDelivery {
	t.Helper()
	got, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: limit, Lease: lease, ExcludeWebhooks: exclude})
	require.NoError(t, err)
	require.LessOrEqual(t, len(got), max(limit, 0), "Claim returned more than Limit")
	return got
}

// claimOne claims at now and requires exactly the delivery id.
func claimOne(t *testing.T, s webhooks.Store, now time.Time, id int64) *webhooks.ClaimedDelivery {
	t.Helper()
	got := claim(t, s, now, 10, time.Minute)
	require.Equal(t, []int64{id}, claimedIDs(got), "claim at %s", now)
	return got[0]
}

func claimedIDs(cs []*webhooks.ClaimedDelivery) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.Delivery.ID
	}
	return ids
}

func webhookIDs(ws []*webhooks.Webhook) []int64 {
	ids := make([]int64, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids
}

func deliveryIDs(ds []*webhooks.Delivery) []int64 {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// completion builds a completion of claim c with a plausible attempt.
func completion(c *webhooks.ClaimedDelivery, status webhooks.DeliveryStatus, now time.Time) webhooks.Completion {
	a := webhooks.Attempt{StartedAt: now.Add(-time.Second), Duration: 250 * time.Millisecond}
	switch status {
	case webhooks.StatusSuccess:
		a.ResponseStatus = http.StatusOK
	default:
		a.ResponseStatus = http.StatusInternalServerError
		a.Error = "HTTP 500"
	}
	cp := webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Attempt: a, Status: status, Now: now}
	if status == webhooks.StatusRetrying {
		cp.NextAttemptAt = now.Add(time.Minute)
	}
	return cp
}

func complete(t *testing.T, s webhooks.Store, cs ...webhooks.Completion) webhooks.CompleteResult {
	t.Helper()
	res, err := s.Complete(ctx, cs)
	require.NoError(t, err)
	return res
}

// completeOK completes and requires that nothing was stale.
func completeOK(t *testing.T, s webhooks.Store, cs ...webhooks.Completion) webhooks.CompleteResult {
	t.Helper()
	res := complete(t, s, cs...)
	require.Empty(t, res.Stale, "no completion should be stale")
	return res
}

func getWebhook(t *testing.T, s webhooks.Store, id int64) *webhooks.Webhook {
	t.Helper()
	w, err := s.GetWebhook(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, w)
	return w
}

func getDelivery(t *testing.T, s webhooks.Store, id int64) *webhooks.Delivery {
	t.Helper()
	d, err := s.GetDelivery(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, d)
	return d
}

func listDeliveries(t *testing.T, s webhooks.Store, p webhooks.ListDeliveriesParams) []*webhooks.Delivery {
	t.Helper()
	ds, err := s.ListDeliveries(ctx, p)
	require.NoError(t, err)
	return ds
}

func listWebhooks(t *testing.T, s webhooks.Store, p webhooks.ListWebhooksParams) []*webhooks.Webhook {
	t.Helper()
	ws, err := s.ListWebhooks(ctx, p)
	require.NoError(t, err)
	return ws
}

func match(t *testing.T, s webhooks.Store, companyID *int64, eventType string) []int64 {
	t.Helper()
	ws, err := s.MatchWebhooks(ctx, webhooks.MatchParams{CompanyID: companyID, EventType: eventType})
	require.NoError(t, err)
	return webhookIDs(ws)
}

func requireNotFound(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.True(t, errors.Is(err, webhooks.ErrNotFound), "%s: want an error wrapping ErrNotFound, got %v", what, err)
}

// requireTime checks got is within Tolerance of want and in UTC.
func requireTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	diff := got.Sub(want)
	if diff < 0 {
		diff = -diff
	}
	require.LessOrEqual(t, diff, Tolerance, "%s: want %s, got %s", what, want.UTC(), got)
	require.Equal(t, time.UTC, got.Location(), "%s must be returned in UTC, got %s", what, got)
}

// requireSameInt64Ptr compares two optional IDs by value.
func requireSameInt64Ptr(t *testing.T, want, got *int64, what string) {
	t.Helper()
	if want == nil {
		require.Nil(t, got, "%s: want nil", what)
		return
	}
	require.NotNil(t, got, "%s: want %d, got nil", what, *want)
	require.Equal(t, *want, *got, what)
}

// requireStrings compares string lists, treating nil and empty alike.
func requireStrings(t *testing.T, want, got []string, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, what)
		return
	}
	require.Equal(t, want, got, what)
}

// requireStringMap compares maps, treating nil and empty alike.
func requireStringMap(t *testing.T, want, got map[string]string, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, what)
		return
	}
	require.Equal(t, want, got, what)
}

// requireHeader compares headers, treating nil and empty alike.
func requireHeader(t *testing.T, want, got http.Header, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, what)
		return
	}
	require.Equal(t, want, got, what)
}

// requireWebhook checks every persisted field of got against want (except
// ClientID, which stores do not keep).
func requireWebhook(t *testing.T, want, got *webhooks.Webhook) {
	t.Helper()
	require.Equal(t, want.ID, got.ID, "ID")
	requireSameInt64Ptr(t, want.CompanyID, got.CompanyID, "CompanyID")
	require.Equal(t, want.Name, got.Name, "Name")
	require.Equal(t, want.Description, got.Description, "Description")
	require.Equal(t, want.URL, got.URL, "URL")
	requireStrings(t, want.Events, got.Events, "Events")
	requireStringMap(t, want.CustomHeaders, got.CustomHeaders, "CustomHeaders")
	requireFilters(t, want.Filters, got.Filters, "Filters")
	require.Equal(t, want.HTTPMethod, got.HTTPMethod, "HTTPMethod")
	require.Equal(t, want.ContentType, got.ContentType, "ContentType")
	require.Equal(t, want.Timeout, got.Timeout, "Timeout")
	require.Equal(t, want.MaxRetries, got.MaxRetries, "MaxRetries")
	require.Equal(t, want.VerifySSL, got.VerifySSL, "VerifySSL")
	require.Equal(t, want.AutoDisableAfterFailures, got.AutoDisableAfterFailures, "AutoDisableAfterFailures")
	require.Equal(t, want.IsActive, got.IsActive, "IsActive")
	require.Equal(t, want.Secret, got.Secret, "Secret")
	require.Equal(t, want.ConsecutiveFailures, got.ConsecutiveFailures, "ConsecutiveFailures")
	require.Equal(t, want.DisabledReason, got.DisabledReason, "DisabledReason")
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
}

// requireAttempt checks every field of got against want.
func requireAttempt(t *testing.T, want, got webhooks.Attempt, n int) {
	t.Helper()
	what := fmt.Sprintf("attempt %d", n)
	require.Equal(t, want.Number, got.Number, what+" Number")
	requireTime(t, want.StartedAt, got.StartedAt, what+" StartedAt")
	requireHeader(t, want.RequestHeaders, got.RequestHeaders, what+" RequestHeaders")
	require.Equal(t, want.ResponseStatus, got.ResponseStatus, what+" ResponseStatus")
	requireHeader(t, want.ResponseHeaders, got.ResponseHeaders, what+" ResponseHeaders")
	require.Equal(t, want.ResponseBody, got.ResponseBody, what+" ResponseBody")
	require.Equal(t, want.Duration, got.Duration, what+" Duration")
	require.Equal(t, want.Error, got.Error, what+" Error")
}

func sortedInt64s(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
