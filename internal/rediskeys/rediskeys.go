// Package rediskeys removes a key prefix's keys from a shared Redis, for
// the benchmark and crash-test commands that clean up after themselves.
package rediskeys

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Delete removes every key starting with prefix using SCAN and UNLINK in
// batches of 500, never FLUSHDB: the Redis may be shared.
func Delete(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}
