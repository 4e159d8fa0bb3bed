// Command quickstart shows the whole library in one process: a SQLite store
// in a temporary directory, two local receivers that verify every signature,
// two webhooks, events created, updated and deleted, and one receiver that
// fails once and gets the delivery on the retry. It prints what each receiver
// got and the delivery history, then exits.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/transport/sender"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	began := time.Now()

	// 1. The store: one SQLite file, migrated on open.
	dir, err := os.MkdirTemp("", "webhooks-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "webhooks.db"), nil)
	if err != nil {
		return err
	}
	defer store.Close()

	// 2. The event types the host emits.
	registry, err := webhooks.NewRegistry(
		webhooks.EventType{Name: "inspection.created", Category: "Maintenance", Description: "Inspection created"},
		webhooks.EventType{Name: "inspection.updated", Category: "Maintenance", Description: "Inspection updated"},
		webhooks.EventType{Name: "inspection.deleted", Category: "Maintenance", Description: "Inspection deleted"},
		webhooks.EventType{Name: "alert.created", Category: "Monitoring", Description: "Alert triggered"},
	)
	if err != nil {
		return err
	}

	// 3. The dispatcher, with a demo retry schedule of 300 ms instead of minutes.
	d, err := webhooks.New(webhooks.Config{
		Registry:     registry,
		Store:        store,
		Retry:        webhooks.RetryPolicy{Schedule: []time.Duration{300 * time.Millisecond}},
		PollInterval: 50 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The demo receivers run on loopback, which the SSRF guard refuses
		// by default: allow private networks for this local demo only.
		Sender: sender.New(&sender.Options{AllowPrivateNetworks: true}),
	})
	if err != nil {
		return err
	}

	// 4. Two receivers on loopback; the second fails its first request.
	reliable, err := startReceiver("reliable", 0)
	if err != nil {
		return err
	}
	defer reliable.close()
	flaky, err := startReceiver("flaky", 1)
	if err != nil {
		return err
	}
	defer flaky.close()

	// 5. Webhooks: secrets are generated and shown once, here.
	w1, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
		Name: webhooks.Ptr("Everything"), URL: webhooks.Ptr(reliable.url), Events: []string{"*"},
	})
	if err != nil {
		return err
	}
	w2, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
		Name: webhooks.Ptr("Inspections only"), URL: webhooks.Ptr(flaky.url), Events: []string{"inspection.*"},
		CustomHeaders: map[string]string{"X-Team": "maintenance"},
	})
	if err != nil {
		return err
	}
	reliable.setSecret(w1.Secret)
	flaky.setSecret(w2.Secret)
	fmt.Fprintf(out, "webhook %d %-18s secret %s\n", w1.ID, w1.Name, w1.SecretPreview())
	fmt.Fprintf(out, "webhook %d %-18s secret %s\n\n", w2.ID, w2.Name, w2.SecretPreview())

	if err := d.Start(ctx); err != nil {
		return err
	}

	// 6. Domain code emits events.
	inspection := map[string]any{"id": 12345, "title": "Monthly Turbine Inspection", "status": "pending"}
	company := &webhooks.Company{ID: 1, Name: "Acme HQ"}
	events := []webhooks.Event{
		{Type: "inspection.created", Company: company, Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: inspection}},
		{Type: "inspection.updated", Company: company, Data: webhooks.EventData{ID: 12345, Type: "Inspection",
			Attributes: map[string]any{"id": 12345, "status": "completed"}, Previous: map[string]any{"status": "pending"}}},
		{Type: "alert.created", Company: company, Data: webhooks.EventData{ID: 7, Type: "Alert", Attributes: map[string]any{"severity": "high"}}},
		{Type: "inspection.deleted", Company: company, Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: map[string]any{"id": 12345}}},
	}
	for _, ev := range events {
		if err := d.Emit(ctx, ev); err != nil {
			return err
		}
	}

	// 7. Wait until every delivery is final.
	deadline := time.Now().Add(20 * time.Second)
	var history []*webhooks.Delivery
	for {
		history, err = d.Deliveries(ctx, "", webhooks.ListDeliveriesParams{Limit: 100})
		if err != nil {
			return err
		}
		if allFinal(history) && len(history) == 7 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deliveries not final after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		return err
	}

	for _, rc := range []*receiver{reliable, flaky} {
		rc.print(out)
	}
	fmt.Fprintln(out, "\ndelivery history (newest first):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWEBHOOK\tEVENT\tSTATUS\tATTEMPTS\tRESPONSE\tDURATION")
	for _, del := range history {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%d\t%s\n", del.ID, del.WebhookID, del.EventType, del.Status,
			del.AttemptCount, del.ResponseStatus, del.Duration.Round(time.Microsecond*100))
	}
	tw.Flush()

	bad := reliable.invalid + flaky.invalid
	fmt.Fprintf(out, "\n%d signatures verified, %d rejected; finished in %s\n",
		reliable.verified+flaky.verified, bad, time.Since(began).Round(time.Millisecond))
	if bad > 0 {
		return fmt.Errorf("%d requests failed verification", bad)
	}
	return nil
}

func allFinal(ds []*webhooks.Delivery) bool {
	for _, d := range ds {
		if d.Status != webhooks.StatusSuccess && d.Status != webhooks.StatusFailed {
			return false
		}
	}
	return true
}

// receiver is a customer's endpoint: it verifies each request with the
// library's Verifier and fails its first failFirst requests with 503.
type receiver struct {
	name      string
	url       string
	srv       *http.Server
	failFirst int

	mu       sync.Mutex
	secret   string
	requests int
	verified int
	invalid  int
	got      []string
}

func startReceiver(name string, failFirst int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{name: name, url: "http://" + ln.Addr().String() + "/webhooks", failFirst: failFirst}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 5 * time.Second}
	go rc.srv.Serve(ln)
	return rc, nil
}

func (rc *receiver) setSecret(s string) { rc.mu.Lock(); rc.secret = s; rc.mu.Unlock() }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if err := webhooks.NewVerifier(rc.secret, nil).Verify(r.Header, body); err != nil {
		rc.invalid++
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	rc.verified++
	var ev struct {
		EventID string `json:"eventId"`
		Event   string `json:"event"`
	}
	_ = json.Unmarshal(body, &ev)
	if rc.requests <= rc.failFirst {
		rc.got = append(rc.got, fmt.Sprintf("%-20s delivery %-3s -> 503 (failing on purpose)", ev.Event, r.Header.Get("X-Webhook-Delivery")))
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	rc.got = append(rc.got, fmt.Sprintf("%-20s delivery %-3s -> 200  event %s", ev.Event, r.Header.Get("X-Webhook-Delivery"), ev.EventID))
}

func (rc *receiver) print(out io.Writer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fmt.Fprintf(out, "receiver %q got %d requests, every signature checked:\n", rc.name, rc.requests)
	for _, g := range rc.got {
		fmt.Fprintln(out, "  "+g)
	}
}

func (rc *receiver) close() { _ = rc.srv.Close() }
