package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Listen calls wake for each notification on the schema's channel until
// ctx ends (or the store is closed), then returns ctx.Err() (or an error
// saying the store is closed). Other processes' Enqueue, RetryDelivery,
// Release and SetWebhookActive(true) notify the channel when they commit.
//
// It holds one dedicated connection, taken from the pool (so the pool's
// settings and connect hooks apply) and then detached from it with
// Hijack, so it no longer counts against the pool's MaxConns: one
// connection per Listen call, and the dispatcher calls Listen once per
// store. When the connection fails (a restart of the
// server, a network cut, or a ping after Options.ListenPingInterval of
// silence finding it dead), Listen logs, waits (100 ms, doubling up to
// Options.ReconnectMaxDelay) and reconnects; after every successful LISTEN
// it calls wake, since notifications sent while it was not listening are
// lost. A connection pooler in transaction mode (PgBouncer) does not carry
// LISTEN: point the pool at the server, or rely on polling.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.shared.closed, cancel) // Close ends Listen
	defer stop()
	delay := reconnectMinDelay
	for {
		listening, err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			if s.shared.closed.Err() != nil {
				return errors.New("pgstore: listen: store closed")
			}
			return ctx.Err()
		}
		if listening {
			delay = reconnectMinDelay
		}
		s.opts.Logger.Warn("pgstore: listen connection lost, reconnecting",
			"channel", s.channel, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			continue // reported above on the next turn
		case <-t.C:
		}
		delay = min(2*delay, s.opts.ReconnectMaxDelay)
	}
}

// listenOnce connects, listens and waits for notifications until the
// connection fails or ctx ends. listening reports whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, wake func()) (listening bool, err error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	conn := pc.Hijack() // the pool forgets it and opens another when needed
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(s.channel)); err != nil {
		return false, fmt.Errorf("LISTEN: %w", err)
	}
	wake() // whatever was sent while not listening
	for {
		waitCtx, cancel := context.WithTimeout(ctx, s.opts.ListenPingInterval)
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			wake()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: make sure the connection still works.
			pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, err
		}
	}
}
