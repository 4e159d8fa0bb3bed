package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func webhookCases() []testCase {
	return []testCase{
		single("WebhookCreateAssignsIncreasingIDs", testWebhookCreateIDs),
		single("WebhookRoundTripsEveryField", testWebhookRoundTrip),
		single("WebhookTimesReturnedInUTC", testWebhookTimesUTC),
		single("WebhookUpdateChangesOnlyConfig", testWebhookUpdate),
		single("WebhookSetSecret", testWebhookSetSecret),
		single("WebhookSetActiveBothWays", testWebhookSetActive),
		single("WebhookDelete", testWebhookDelete),
		single("WebhookMissingIsNotFound", testWebhookMissing),
		single("ListWebhooksFilters", testListWebhooks),
		single("WebhookLimitPerCompany", testWebhookLimit),
		single("WebhookLimitConcurrentCreates", testWebhookLimitConcurrent),
		single("ReturnedValuesAreCopies", testReturnedCopies),
		single("WebhookUpdateZeroUpdatedAtMeansNow", testWebhookUpdateZeroTime),
		single("WebhookLimitNonPositiveMeansNoLimit", testWebhookNoLimit),
		single("WebhookFiltersRoundTripUpdateClear", testWebhookFilters),
	}
}

// testWebhookUpdateZeroTime uses the real clock: a zero UpdatedAt is the
// store's current time.
func testWebhookUpdateZeroTime(t *testing.T, s webhooks.Store) {
	id := createSimple(t, s, "h", company(1))
	upd := getWebhook(t, s, id)
	upd.Name = "renamed"
	upd.UpdatedAt = time.Time{}
	before := time.Now()
	require.NoError(t, s.UpdateWebhook(ctx, upd))
	after := time.Now()
	got := getWebhook(t, s, id)
	require.Equal(t, "renamed", got.Name)
	require.False(t, got.UpdatedAt.Before(before.Add(-Tolerance)), "UpdatedAt %s is before the call (%s)", got.UpdatedAt, before)
	require.False(t, got.UpdatedAt.After(after.Add(Tolerance)), "UpdatedAt %s is after the call (%s)", got.UpdatedAt, after)
	require.Equal(t, time.UTC, got.UpdatedAt.Location())
	requireTime(t, Base, got.CreatedAt, "CreatedAt kept")
}

func testWebhookNoLimit(t *testing.T, s webhooks.Store) {
	for _, limit := range []int{0, -1} {
		for i := range 5 {
			require.NoError(t, s.CreateWebhook(ctx, newWebhook(fmt.Sprintf("c%d-%d", limit, i), company(1), "*"), limit),
				"maxPerCompany %d", limit)
			require.NoError(t, s.CreateWebhook(ctx, newWebhook(fmt.Sprintf("s%d-%d", limit, i), nil, "*"), limit),
				"maxPerCompany %d, system-wide", limit)
		}
	}
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1)}), 10)
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{OnlySystemWide: true}), 10)
	// A positive limit still counts the webhooks created without one.
	err := s.CreateWebhook(ctx, newWebhook("over", company(1), "*"), 10)
	require.ErrorIs(t, err, webhooks.ErrWebhookLimit)
	require.NoError(t, s.CreateWebhook(ctx, newWebhook("under", company(1), "*"), 11))
}

func testWebhookCreateIDs(t *testing.T, s webhooks.Store) {
	var last int64
	for i := range 5 {
		w := newWebhook(fmt.Sprintf("hook%d", i), nil, "*")
		require.NoError(t, s.CreateWebhook(ctx, w, noLimit))
		require.Greater(t, w.ID, last, "IDs must be positive and increasing")
		last = w.ID
	}
}

func testWebhookRoundTrip(t *testing.T, s webhooks.Store) {
	full := &webhooks.Webhook{
		CompanyID:                company(42),
		Name:                     "Full hook",
		Description:              "every field set — ünïcode",
		URL:                      "https://receiver.example.com/full?x=1",
		Events:                   []string{"inspection.created", "unit.*"},
		CustomHeaders:            map[string]string{"X-Api-Key": "k-123", "X-Team": "maint"},
		Filters:                  json.RawMessage(`{"data.attributes.status":{"$in":["FAILED","ERROR"]}}`),
		HTTPMethod:               http.MethodPut,
		ContentType:              "application/vnd.acme+json; charset=utf-8",
		Timeout:                  12500 * time.Millisecond,
		MaxRetries:               2,
		VerifySSL:                false,
		AutoDisableAfterFailures: 7,
		IsActive:                 true,
		Secret:                   "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
		CreatedAt:                at(time.Second + 123456*time.Microsecond),
		UpdatedAt:                at(2*time.Second + 654321*time.Microsecond),
	}
	minimal := &webhooks.Webhook{
		Name:        "Minimal hook",
		URL:         "http://localhost:8080/hook",
		HTTPMethod:  http.MethodPost,
		ContentType: "application/json",
		Timeout:     time.Second,
		VerifySSL:   true,
		IsActive:    true,
		Secret:      "s3cr3t-s3cr3t-s3cr3t",
		CreatedAt:   at(time.Minute),
		UpdatedAt:   at(time.Minute),
	}
	inactive := newWebhook("paused", company(42), "*")
	inactive.IsActive = false
	inactive.DisabledReason = "paused by admin"

	for _, w := range []*webhooks.Webhook{full, minimal, inactive} {
		want := *w
		create(t, s, w)
		want.ID = w.ID
		requireWebhook(t, &want, getWebhook(t, s, w.ID))
	}
}

func testWebhookTimesUTC(t *testing.T, s webhooks.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	w := newWebhook("zoned", nil, "*")
	w.CreatedAt = at(time.Hour).In(zone)
	w.UpdatedAt = at(2 * time.Hour).In(zone)
	id := create(t, s, w)
	got := getWebhook(t, s, id)
	requireTime(t, at(time.Hour), got.CreatedAt, "CreatedAt")
	requireTime(t, at(2*time.Hour), got.UpdatedAt, "UpdatedAt")
	list := listWebhooks(t, s, webhooks.ListWebhooksParams{})
	require.Len(t, list, 1)
	requireTime(t, at(time.Hour), list[0].CreatedAt, "listed CreatedAt")

	require.NoError(t, s.SetWebhookSecret(ctx, id, "another-secret-value", at(3*time.Hour).In(zone)))
	requireTime(t, at(3*time.Hour), getWebhook(t, s, id).UpdatedAt, "UpdatedAt after SetWebhookSecret")
}

func testWebhookUpdate(t *testing.T, s webhooks.Store) {
	orig := newWebhook("orig", company(1), "inspection.created")
	orig.CustomHeaders = map[string]string{"X-Old": "1"}
	id := create(t, s, orig)
	stored := getWebhook(t, s, id)

	upd := &webhooks.Webhook{
		ID:                       id,
		CompanyID:                company(2), // ignored
		Name:                     "renamed",  // config
		Description:              "new desc", // config
		URL:                      "https://new.example.com/h",
		Events:                   []string{"unit.*", "*"},
		CustomHeaders:            map[string]string{"X-New": "2", "X-Other": "3"},
		HTTPMethod:               http.MethodPatch,
		ContentType:              "application/cloudevents+json",
		Timeout:                  90 * time.Second,
		MaxRetries:               0,
		VerifySSL:                false,
		AutoDisableAfterFailures: 0,
		IsActive:                 false,         // ignored
		Secret:                   "whsec_other", // ignored
		ConsecutiveFailures:      9,             // ignored
		DisabledReason:           "nope",        // ignored
		CreatedAt:                at(time.Hour), // not a config field
		UpdatedAt:                at(time.Hour),
	}
	require.NoError(t, s.UpdateWebhook(ctx, upd))

	want := *stored
	want.Name = upd.Name
	want.Description = upd.Description
	want.URL = upd.URL
	want.Events = upd.Events
	want.CustomHeaders = upd.CustomHeaders
	want.HTTPMethod = upd.HTTPMethod
	want.ContentType = upd.ContentType
	want.Timeout = upd.Timeout
	want.MaxRetries = upd.MaxRetries
	want.VerifySSL = upd.VerifySSL
	want.AutoDisableAfterFailures = upd.AutoDisableAfterFailures
	want.UpdatedAt = upd.UpdatedAt
	requireWebhook(t, &want, getWebhook(t, s, id))

	// Clearing lists is an update too.
	upd2 := getWebhook(t, s, id)
	upd2.Events = []string{}
	upd2.CustomHeaders = map[string]string{}
	upd2.UpdatedAt = at(2 * time.Hour)
	require.NoError(t, s.UpdateWebhook(ctx, upd2))
	got := getWebhook(t, s, id)
	require.Empty(t, got.Events)
	require.Empty(t, got.CustomHeaders)
	requireTime(t, at(2*time.Hour), got.UpdatedAt, "UpdatedAt")
}

func testWebhookSetSecret(t *testing.T, s webhooks.Store) {
	id := createSimple(t, s, "h", nil)
	other := createSimple(t, s, "other", nil)
	before := getWebhook(t, s, id)
	require.NoError(t, s.SetWebhookSecret(ctx, id, "whsec_rotated-secret-0001", at(time.Hour)))
	got := getWebhook(t, s, id)
	want := *before
	want.Secret = "whsec_rotated-secret-0001"
	want.UpdatedAt = at(time.Hour)
	requireWebhook(t, &want, got)
	require.Equal(t, "whsec_other-0123456789abcdef", getWebhook(t, s, other).Secret, "other webhook untouched")
}

func testWebhookSetActive(t *testing.T, s webhooks.Store) {
	id := createSimple(t, s, "h", company(3))

	require.NoError(t, s.SetWebhookActive(ctx, id, false, "maintenance window", at(time.Minute)))
	got := getWebhook(t, s, id)
	require.False(t, got.IsActive)
	require.Equal(t, "maintenance window", got.DisabledReason)
	requireTime(t, at(time.Minute), got.UpdatedAt, "UpdatedAt after disable")

	// Fail twice while active, then check that disabling keeps the counter
	// and enabling again resets it.
	require.NoError(t, s.SetWebhookActive(ctx, id, true, "", at(2*time.Minute)))
	got = getWebhook(t, s, id)
	require.True(t, got.IsActive)
	require.Empty(t, got.DisabledReason)
	require.Zero(t, got.ConsecutiveFailures)
	requireTime(t, at(2*time.Minute), got.UpdatedAt, "UpdatedAt after enable")

	for i := range 2 {
		enqueueOne(t, s, fmt.Sprintf("e%d", i), at(2*time.Minute), id)
	}
	cl := claim(t, s, at(3*time.Minute), 10, time.Minute)
	require.Len(t, cl, 2)
	completeOK(t, s, completion(cl[0], webhooks.StatusFailed, at(3*time.Minute)), completion(cl[1], webhooks.StatusFailed, at(3*time.Minute)))
	require.Equal(t, 2, getWebhook(t, s, id).ConsecutiveFailures)

	require.NoError(t, s.SetWebhookActive(ctx, id, false, "manual", at(4*time.Minute)))
	require.Equal(t, 2, getWebhook(t, s, id).ConsecutiveFailures, "disabling keeps the counter")
	require.NoError(t, s.SetWebhookActive(ctx, id, true, "ignored reason", at(5*time.Minute)))
	got = getWebhook(t, s, id)
	require.True(t, got.IsActive)
	require.Zero(t, got.ConsecutiveFailures, "enabling resets the failure counter")
	require.Empty(t, got.DisabledReason, "enabling clears the reason")
}

func testWebhookDelete(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	require.NoError(t, s.DeleteWebhook(ctx, a))
	_, err := s.GetWebhook(ctx, a)
	requireNotFound(t, err, "GetWebhook after delete")
	require.Equal(t, []int64{b}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{})))
	requireNotFound(t, s.DeleteWebhook(ctx, a), "second DeleteWebhook")

	c := createSimple(t, s, "c", nil)
	require.NotEqual(t, a, c, "IDs are not reused")
}

func testWebhookMissing(t *testing.T, s webhooks.Store) {
	existing := createSimple(t, s, "exists", nil)
	missing := existing + 1000
	_, err := s.GetWebhook(ctx, missing)
	requireNotFound(t, err, "GetWebhook")
	w := newWebhook("ghost", nil, "*")
	w.ID = missing
	requireNotFound(t, s.UpdateWebhook(ctx, w), "UpdateWebhook")
	requireNotFound(t, s.DeleteWebhook(ctx, missing), "DeleteWebhook")
	requireNotFound(t, s.SetWebhookActive(ctx, missing, false, "x", Base), "SetWebhookActive(false)")
	requireNotFound(t, s.SetWebhookActive(ctx, missing, true, "", Base), "SetWebhookActive(true)")
	requireNotFound(t, s.SetWebhookSecret(ctx, missing, "whsec_whatever-secret", Base), "SetWebhookSecret")
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{}), 1, "nothing was created")
}

func testListWebhooks(t *testing.T, s webhooks.Store) {
	require.Empty(t, listWebhooks(t, s, webhooks.ListWebhooksParams{}), "empty store")
	sys1 := createSimple(t, s, "sys1", nil)
	c1a := createSimple(t, s, "c1a", company(1))
	c2 := createSimple(t, s, "c2", company(2))
	sys2 := createSimple(t, s, "sys2", nil)
	c1b := createSimple(t, s, "c1b", company(1))
	require.NoError(t, s.SetWebhookActive(ctx, c1b, false, "off", Base))

	require.Equal(t, []int64{sys1, c1a, c2, sys2, c1b}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{})), "all, by ID, inactive included")
	require.Equal(t, []int64{c1a, c1b}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1)})))
	require.Equal(t, []int64{c2}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(2)})))
	require.Empty(t, listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(3)}))
	require.Equal(t, []int64{sys1, sys2}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{OnlySystemWide: true})))
	require.Equal(t, []int64{c1a, c1b}, webhookIDs(listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1), OnlySystemWide: true})),
		"OnlySystemWide is ignored when CompanyID is set")

	listed := listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1)})
	requireWebhook(t, getWebhook(t, s, c1a), listed[0])
	require.NotEmpty(t, listed[0].Secret, "listed webhooks carry their secret")
}

func testWebhookLimit(t *testing.T, s webhooks.Store) {
	const limit = 2
	mk := func(name string, c *int64) error { return s.CreateWebhook(ctx, newWebhook(name, c, "*"), limit) }
	require.NoError(t, mk("c1-1", company(1)))
	require.NoError(t, mk("c1-2", company(1)))
	err := mk("c1-3", company(1))
	require.Error(t, err)
	require.True(t, errors.Is(err, webhooks.ErrWebhookLimit), "want ErrWebhookLimit, got %v", err)

	require.NoError(t, mk("c2-1", company(2)), "other companies have their own limit")
	require.NoError(t, mk("c2-2", company(2)))
	require.NoError(t, mk("sys-1", nil), "system-wide webhooks have their own limit")
	require.NoError(t, mk("sys-2", nil))
	err = mk("sys-3", nil)
	require.True(t, errors.Is(err, webhooks.ErrWebhookLimit), "system-wide limit: want ErrWebhookLimit, got %v", err)

	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1)}), 2)
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{}), 6)

	// Deleting frees a slot.
	c1 := listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(1)})
	require.NoError(t, s.DeleteWebhook(ctx, c1[0].ID))
	require.NoError(t, mk("c1-3", company(1)))
}

func testWebhookLimitConcurrent(t *testing.T, s webhooks.Store) {
	const (
		limit      = 3
		goroutines = 10
	)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.CreateWebhook(ctx, newWebhook(fmt.Sprintf("race%d", i), company(7), "*"), limit)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.True(t, errors.Is(err, webhooks.ErrWebhookLimit), "goroutine %d: want nil or ErrWebhookLimit, got %v", i, err)
	}
	require.Equal(t, limit, ok, "exactly the limit succeeds")
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(7)}), limit)
}

func testReturnedCopies(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", company(5), "inspection.created")
	w.CustomHeaders = map[string]string{"X-A": "1"}
	id := create(t, s, w)

	// Mutating the input after the call changes nothing.
	*w.CompanyID = 99
	w.Events[0] = "unit.created"
	w.CustomHeaders["X-A"] = "changed"

	got := getWebhook(t, s, id)
	require.Equal(t, int64(5), *got.CompanyID)
	require.Equal(t, []string{"inspection.created"}, got.Events)
	require.Equal(t, map[string]string{"X-A": "1"}, got.CustomHeaders)

	// Mutating a returned value changes nothing either.
	*got.CompanyID = 98
	got.Events[0] = "unit.deleted"
	got.CustomHeaders["X-A"] = "changed again"
	got.Secret = "tampered"
	again := getWebhook(t, s, id)
	require.Equal(t, int64(5), *again.CompanyID)
	require.Equal(t, []string{"inspection.created"}, again.Events)
	require.Equal(t, map[string]string{"X-A": "1"}, again.CustomHeaders)
	require.Equal(t, "whsec_h-0123456789abcdef", again.Secret)

	e := ev("evt", company(5), Base, id)
	enqueue(t, s, e)
	e.Payload[0] = 'X'
	*e.CompanyID = 77
	cl := claim(t, s, Base, 10, time.Minute)
	require.Len(t, cl, 1)
	require.Equal(t, payloadFor("evt"), cl[0].Payload)
	requireSameInt64Ptr(t, company(5), cl[0].Delivery.CompanyID, "Delivery.CompanyID")
	cl[0].Payload[0] = 'Y'
	cl[0].Webhook.Events[0] = "zzz.zzz"
	*cl[0].Delivery.CompanyID = 66
	require.Equal(t, []string{"inspection.created"}, getWebhook(t, s, id).Events)
	requireSameInt64Ptr(t, company(5), getDelivery(t, s, cl[0].Delivery.ID).CompanyID, "stored Delivery.CompanyID")

	hdr := http.Header{"X-Req": {"1"}}
	c := completion(cl[0], webhooks.StatusSuccess, Base)
	c.Attempt.RequestHeaders = hdr
	completeOK(t, s, c)
	hdr.Set("X-Req", "2")
	d := getDelivery(t, s, cl[0].Delivery.ID)
	require.Equal(t, "1", d.Attempts[0].RequestHeaders.Get("X-Req"))
	d.Attempts[0].RequestHeaders.Set("X-Req", "3")
	require.Equal(t, "1", getDelivery(t, s, cl[0].Delivery.ID).Attempts[0].RequestHeaders.Get("X-Req"))
}
