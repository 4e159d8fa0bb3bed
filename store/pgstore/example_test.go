package pgstore_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
)

// A host with its own pool stores an event in the same transaction as its
// own row: both commit, or neither does. Other processes' dispatchers hear
// of the event when the transaction commits (LISTEN/NOTIFY).
func Example_emitTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, &pgstore.Options{Schema: "webhooks"})
	if err != nil {
		log.Fatal(err)
	}
	d, err := webhooks.New(webhooks.Config{
		Registry: webhooks.MustNewRegistry(webhooks.EventType{Name: "order.created"}),
		Store:    store,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer d.Stop(ctx)

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	if _, err := tx.Exec(ctx, `INSERT INTO orders (id, total) VALUES ($1, $2)`, 42, 99.5); err != nil {
		log.Fatal(err)
	}
	err = d.EmitTx(ctx, pgstore.WrapTx(tx), webhooks.Event{
		Type: "order.created",
		Data: webhooks.EventData{ID: 42, Type: "Order", Attributes: map[string]any{"total": 99.5}},
	})
	if err != nil {
		log.Fatal(err) // the transaction is aborted: roll back
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
}
