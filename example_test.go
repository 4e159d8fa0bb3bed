package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/sender"
)

// A host registers its event types, creates a webhook and emits; the
// dispatcher delivers a signed request the receiver verifies.
func Example() {
	ctx := context.Background()
	registry := webhooks.MustNewRegistry(
		webhooks.EventType{Name: "inspection.created", Category: "Maintenance", Description: "Inspection created"},
	)
	d, err := webhooks.New(webhooks.Config{
		Registry: registry,
		Store:    memstore.New(),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The receiver below is on loopback, which the SSRF guard refuses by default.
		Sender: sender.New(&sender.Options{AllowPrivateNetworks: true}),
	})
	if err != nil {
		panic(err)
	}

	got := make(chan string, 1)
	var verifier *webhooks.Verifier
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(r.Header, body); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		got <- r.Header.Get("X-Webhook-Event")
	}))
	defer receiver.Close()

	hook, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
		Name:   webhooks.Ptr("My integration"),
		URL:    webhooks.Ptr(receiver.URL),
		Events: []string{"inspection.*"},
	})
	if err != nil {
		panic(err)
	}
	verifier = webhooks.NewVerifier(hook.Secret, nil)

	if err := d.Start(ctx); err != nil {
		panic(err)
	}
	defer d.Stop(ctx)
	err = d.Emit(ctx, webhooks.Event{
		Type: "inspection.created",
		Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: map[string]any{"title": "Monthly"}},
	})
	if err != nil {
		panic(err)
	}
	select {
	case ev := <-got:
		fmt.Println("verified delivery of", ev)
	case <-time.After(10 * time.Second):
		fmt.Println("timed out")
	}
	// Output: verified delivery of inspection.created
}

// Patterns select event types: exact names, "*" and "resource.*".
func ExampleMatchPattern() {
	fmt.Println(webhooks.MatchPattern("inspection.*", "inspection.created"))
	fmt.Println(webhooks.MatchPattern("inspection.*", "inspection_item.created"))
	fmt.Println(webhooks.MatchPattern("*", "unit.deleted"))
	// Output:
	// true
	// false
	// true
}

func ExampleRegistry_Categories() {
	r := webhooks.MustNewRegistry(
		webhooks.EventType{Name: "unit.created", Category: "Asset"},
		webhooks.EventType{Name: "alert.resolved", Category: "Monitoring"},
		webhooks.EventType{Name: "alert.created", Category: "Monitoring"},
	)
	for _, c := range r.Categories() {
		fmt.Print(c.Name, ":")
		for _, t := range c.Types {
			fmt.Print(" ", t.Name)
		}
		fmt.Println()
	}
	// Output:
	// Asset: unit.created
	// Monitoring: alert.created alert.resolved
}

// The signature receivers check, in any language: HMAC-SHA256 of the raw
// body keyed by the secret, hex-encoded, after "sha256=".
func ExampleSignHMACSHA256() {
	fmt.Println(webhooks.SignHMACSHA256("It's a Secret to Everybody", []byte("Hello, World!")))
	// Output: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

func ExampleVerifier_Middleware() {
	v := webhooks.NewVerifier("whsec_the-secret-shown-once", webhooks.HMACScheme{Prefix: "X-TGM-"})
	handler := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// r.Body holds the verified raw body.
		w.WriteHeader(http.StatusOK)
	}))
	http.Handle("/webhooks/tgm", handler)
}
