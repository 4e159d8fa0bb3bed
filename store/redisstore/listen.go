package redisstore

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timing of Listen.
const (
	// listenHealthCheck is how long Listen waits for a message before it
	// pings the connection, so a silently dropped connection is noticed.
	listenHealthCheck = 15 * time.Second
	// listenMaxBackoff caps the wait between reconnection attempts.
	listenMaxBackoff = 5 * time.Second
)

// Listen implements webhooks.Listener with Redis Pub/Sub. It subscribes
// to Channel(), on which Enqueue (creating due deliveries), RetryDelivery,
// Release and enabling a webhook publish from inside their scripts, and
// calls wake for every message until ctx ends; then it returns ctx.Err().
// It also calls wake each time the subscription is confirmed (at first and
// after every reconnection), since messages published while it was
// disconnected are lost. go-redis reconnects by itself; Listen pings after
// 15 s of silence to notice a dead connection, and waits between failed
// attempts (100 ms doubling to 5 s), logging when the connection is lost
// and when it is back.
//
// On Redis Cluster the PUBLISH of a script reaches every node, and the
// subscription is on any one of them.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ps := s.rdb.Subscribe(ctx, s.Channel())
	defer func() { _ = ps.Close() }()
	// Receive blocks on the connection; closing the PubSub ends it when
	// ctx does.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	backoff := 100 * time.Millisecond
	failing := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, listenHealthCheck)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet for a while: check the connection. A failed ping
				// makes go-redis reconnect and subscribe again.
				_ = ps.Ping(ctx)
				continue
			}
			if !failing {
				s.log.Warn("redisstore: listening for wake-ups: connection lost, reconnecting", "channel", s.Channel(), "err", err)
				failing = true
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, listenMaxBackoff)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if failing {
					s.log.Info("redisstore: listening for wake-ups again", "channel", s.Channel())
					failing = false
				}
				backoff = 100 * time.Millisecond
				wake()
			}
		case *redis.Message:
			wake()
		}
	}
}
