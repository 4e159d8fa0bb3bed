package redisstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	webhooks "github.com/webhookkit/webhooks"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "webhooks"

// Sizes of the store's pages and batches.
const (
	// DefaultListLimit is the page size of ListDeliveries when
	// ListDeliveriesParams.Limit <= 0: 20.
	DefaultListLimit = 20
	// MaxListLimit caps ListDeliveriesParams.Limit: 1000.
	MaxListLimit = 1000
	// Batch is how many deliveries one script call deletes (Purge,
	// DeleteWebhook) or returns from expired leases to the queues (Claim),
	// so no call blocks Redis for long: 1000.
	Batch = 1000
	// maxPrefixLen bounds Options.Prefix.
	maxPrefixLen = 200
)

// Options configures a Store. The zero value (or nil) takes every default.
type Options struct {
	// Prefix names this client's keys: one prefix per client (tenant), and
	// several Stores (in one process or many) with the same prefix share
	// the same webhooks and deliveries. Every key starts with the prefix
	// in a hash tag, so that on Redis Cluster all of a client's keys live
	// in one slot (the scripts touch several keys at once): a prefix
	// without braces is wrapped in them ("acme" gives keys "{acme}:..."),
	// and a prefix that already holds a tag is used as is
	// ("webhooks:{acme}" gives "webhooks:{acme}:..."). 1 to 200 printable
	// ASCII characters, without spaces or the glob characters * ? [ ] \,
	// and at most one non-empty {tag}. Default DefaultPrefix ("webhooks").
	Prefix string
	// Logger receives Listen's connection problems. Default slog.Default().
	Logger *slog.Logger
}

// Store is a webhooks.Store on Redis holding one client's webhooks,
// events, deliveries and attempts under one key prefix. It also implements
// webhooks.Listener (Redis Pub/Sub). It does not implement webhooks.TxStore:
// Dispatcher.EmitTx fails with webhooks.ErrTxUnsupported. Create one with
// New; it is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	k   string // key prefix with hash tag and trailing ':', e.g. "{acme}:"
	log *slog.Logger
	// disableBefore and disableAfter surround the failure count in
	// webhooks.AutoDisableReason, which complete.lua builds.
	disableBefore, disableAfter string
}

var (
	_ webhooks.Store    = (*Store)(nil)
	_ webhooks.Listener = (*Store)(nil)
)

// New returns a Store on client, which may be a *redis.Client, a Sentinel
// (*redis.Client from redis.NewFailoverClient) or a *redis.ClusterClient.
// The store does not own the client: close it yourself after the
// dispatcher has stopped. New does not contact Redis; the first call does.
// An invalid prefix fails with an error wrapping webhooks.ErrInvalid.
func New(client redis.UniversalClient, opts *Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: nil client: %w", webhooks.ErrInvalid)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	k, err := keyPrefix(o.Prefix)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	const marker = 987654321
	before, after, _ := strings.Cut(webhooks.AutoDisableReason(marker), strconv.Itoa(marker))
	return &Store{rdb: client, k: k, log: o.Logger, disableBefore: before, disableAfter: after}, nil
}

// KeyPrefix returns the prefix of every key of the store, hash tag
// included, e.g. "{acme}:". List them with
// redis-cli --scan --pattern '{acme}:*'.
func (s *Store) KeyPrefix() string { return s.k }

// Channel returns the Pub/Sub channel the store publishes wake-ups on:
// KeyPrefix() + "wake".
func (s *Store) Channel() string { return s.k + "wake" }

// keyPrefix validates a prefix and returns the key prefix it gives.
func keyPrefix(p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("redisstore: prefix %q %s: %w", p, why, webhooks.ErrInvalid)
	}
	if len(p) > maxPrefixLen {
		return bad(fmt.Sprintf("is longer than %d bytes", maxPrefixLen))
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c > '~' {
			return bad("has a space, control or non-ASCII character")
		}
		if strings.IndexByte(`*?[]\`, c) >= 0 {
			return bad("has a glob character (* ? [ ] \\)")
		}
	}
	open, close := strings.Count(p, "{"), strings.Count(p, "}")
	switch {
	case open == 0 && close == 0:
		return "{" + p + "}:", nil
	case open == 1 && close == 1:
		i, j := strings.IndexByte(p, '{'), strings.IndexByte(p, '}')
		if j <= i+1 {
			return bad("needs a non-empty {tag}")
		}
		return p + ":", nil
	default:
		return bad("may hold at most one {tag}")
	}
}

//go:embed lua/*.lua
var luaFiles embed.FS

// Scripts, each common.lua followed by lua/<name>.lua; see README.md.
var (
	scriptCreateWebhook  = loadScript("create_webhook")
	scriptUpdateWebhook  = loadScript("update_webhook")
	scriptSetActive      = loadScript("set_active")
	scriptSetSecret      = loadScript("set_secret")
	scriptDeleteWebhook  = loadScript("delete_webhook")
	scriptTrash          = loadScript("trash")
	scriptEnqueue        = loadScript("enqueue")
	scriptClaim          = loadScript("claim")
	scriptComplete       = loadScript("complete")
	scriptRelease        = loadScript("release")
	scriptRetry          = loadScript("retry")
	scriptPurge          = loadScript("purge")
	scriptMatch          = loadScript("match")
	scriptListWebhooks   = loadScript("list_webhooks")
	scriptListDeliveries = loadScript("list_deliveries")
	scriptGetDelivery    = loadScript("get_delivery")
)

func loadScript(name string) *redis.Script {
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(common) + "\n" + string(body))
}

// run runs a script (EVALSHA, falling back to EVAL when Redis does not
// have it yet) with the key prefix as ARGV[1].
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) (any, error) {
	return sc.Run(ctx, s.rdb, keys, append([]any{s.k}, args...)...).Result()
}

// Key names; README.md lists them all.
func (s *Store) key(parts ...string) string { return s.k + strings.Join(parts, ":") }

func (s *Store) webhookKey(id int64) string { return s.k + "wh:" + itoa(id) }

func (s *Store) deliveryKey(id int64) string { return s.k + "d:" + itoa(id) }

// scopeKey is the index of a company's webhooks, or of the system-wide ones.
func (s *Store) scopeKey(company *int64) string {
	if company == nil {
		return s.k + "sys"
	}
	return s.k + "co:" + itoa(*company)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// micros encodes a time as microseconds since the epoch.
func micros(t time.Time) string { return itoa(t.UnixMicro()) }

func fromMicros(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMicro(n).UTC()
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// hashOf turns a flat field, value, ... reply into a map.
func hashOf(v any) map[string]string {
	arr, _ := v.([]any)
	m := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m
}

// list asserts an array reply.
func list(v any) []any {
	arr, _ := v.([]any)
	return arr
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return itoa(v)
	}
	return ""
}

func int64Of(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		return atoi64(v)
	}
	return 0
}

func optInt64(s string, ok bool) *int64 {
	if !ok || s == "" {
		return nil
	}
	n := atoi64(s)
	return &n
}

func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t.UTC()
}

// wrap adds the operation to an error: "redisstore: <op>: <err>".
func wrap(op string, err error) error {
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: %s: unexpected nil reply: %w", op, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
