package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// A host keeps its own tables and the webhook tables in one file and writes
// an event in the same transaction as its own row.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open(sqlitestore.DriverName, "file:"+filepath.Join(dir, "app.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY)`); err != nil {
		log.Fatal(err)
	}
	s, err := sqlitestore.New(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	hook := &webhooks.Webhook{Name: "erp", URL: "https://erp.example.com/hook", Events: []string{"order.*"},
		HTTPMethod: "POST", ContentType: "application/json", Timeout: 30 * time.Second, IsActive: true,
		Secret: webhooks.NewSecret()}
	if err := s.CreateWebhook(ctx, hook, 20); err != nil {
		log.Fatal(err)
	}

	// The host's transaction: its row and the event commit together. A
	// Dispatcher does the same through EmitTx(ctx, sqlitestore.WrapTx(tx), ev).
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id) VALUES (1)`); err != nil {
		log.Fatal(err)
	}
	view, err := s.WithTx(sqlitestore.WrapTx(tx))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := view.Enqueue(ctx, []webhooks.EnqueueEvent{{
		EventID: "order-1", EventType: "order.created", Payload: []byte(`{"id":1}`),
		CreatedAt: time.Now(), WebhookIDs: []int64{hook.ID},
	}}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	claimed, err := s.Claim(ctx, webhooks.ClaimParams{Now: time.Now(), Limit: 10, Lease: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range claimed {
		fmt.Println(c.Delivery.EventID, c.Webhook.Name, string(c.Payload))
	}
	// Output: order-1 erp {"id":1}
}
