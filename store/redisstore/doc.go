// Package redisstore is a webhooks.Store on Redis through
// github.com/redis/go-redis/v9, for hosts that already run Redis and for
// several processes sharing the work.
//
// A Store is one client's data under one key prefix:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	st, err := redisstore.New(rdb, &redisstore.Options{Prefix: "acme"})
//	d, err := webhooks.New(webhooks.Config{Registry: reg, Store: st})
//
// New takes any redis.UniversalClient: a single node (redis.NewClient), a
// Sentinel-managed primary (redis.NewFailoverClient) or a Cluster
// (redis.NewClusterClient). Every key starts with the prefix in a hash tag
// ("{acme}:"), so all of one client's keys hash to one Cluster slot and each
// script's keys are in the same slot; different clients spread over the
// cluster. Dispatchers in any number of processes may use Stores with the
// same prefix at once.
//
// # Scripts
//
// Every state change is one Lua script (lua/*.lua, embedded, run with
// EVALSHA and loaded on NOSCRIPT), so it is atomic without MULTI/WATCH
// retries: creating a webhook (with the per-company limit), updating it,
// enabling or disabling it, replacing its secret, deleting it with its
// deliveries, enqueueing events, claiming, completing, releasing, retrying
// by hand and purging. Each script documents its KEYS and ARGV at the top;
// README.md lists the key layout.
//
// Deliveries wait in one sorted set per webhook, scored by next attempt
// time; a sorted set of active webhooks scored by their earliest due
// delivery lets Claim visit only webhooks with work, so a disabled webhook's
// backlog costs nothing. Leases live in a sorted set scored by expiry; Claim
// returns expired ones to their queues and bumps a fencing token per claim
// (HINCRBY), and Complete accepts only the current token of a claim still
// held. Complete records the attempt, the new state, the retry schedule, the
// webhook's failure counter and auto-disable in the same script.
//
// # Wake-ups
//
// Store implements webhooks.Listener: the scripts that make deliveries due
// PUBLISH on KeyPrefix()+"wake", and Listen subscribes, so a dispatcher
// learns at once of another process's emits; polling remains the fallback.
//
// # Durability
//
// Redis keeps everything in memory. With persistence off (as with
// --save "" --appendonly no), a restart loses every webhook, event and
// delivery. For production enable the append-only file with
// appendfsync everysec: a machine crash or power loss can then lose about
// the last second of writes, including Emits already acknowledged to the
// caller. Run Redis with maxmemory-policy noeviction, so that a full Redis
// fails writes (Emit returns the error) rather than evicting deliveries.
// appendfsync always loses nothing acknowledged, at a large cost in write
// throughput. Store does not implement webhooks.TxStore (Redis cannot join
// a SQL transaction), so Dispatcher.EmitTx is not available.
package redisstore
