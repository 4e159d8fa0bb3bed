// Command webhooks-bench measures the delivery pipeline end to end against
// local receivers on loopback, for each store, and compares every figure
// with a ceiling measured in the same run: signed POSTs sent straight to the
// same receivers at the same concurrency, with no store and no dispatcher.
//
//	go run ./cmd/webhooks-bench -store all          # memory, sqlite, and postgres/redis when their URLs are set
//	go run ./cmd/webhooks-bench -store sqlite -quick
//	go run ./cmd/webhooks-bench -store memory,sqlite -json > bench.json
//
// Scenarios, each on a fresh store (a new SQLite file, Postgres schema or
// Redis key prefix): raw (the ceiling), steady, backlog, hanging, fanout.
// See README.md next to this file for what each figure means.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Environment variables the service URLs default to (the store suites'
// own variables, so one export serves both).
const (
	postgresEnv = "WEBHOOKS_TEST_POSTGRES_URL"
	redisEnv    = "WEBHOOKS_TEST_REDIS_URL"
)

var (
	allStores    = []string{"memory", "sqlite", "postgres", "redis"}
	allScenarios = []string{"raw", "steady", "backlog", "hanging", "fanout"}
)

// options are the benchmark's parameters; see the flag definitions.
type options struct {
	Stores        []string      `json:"stores"`
	Scenarios     []string      `json:"scenarios"`
	PostgresURL   string        `json:"-"`
	RedisURL      string        `json:"-"`
	Events        int           `json:"events"`
	Endpoints     int           `json:"endpoints"`
	Emitters      int           `json:"emitters"`
	Payload       int           `json:"payloadBytes"`
	Backlog       int           `json:"backlog"`
	HangEndpoints int           `json:"hangEndpoints"`
	HangEvents    int           `json:"hangEvents"`
	HangTimeout   time.Duration `json:"hangTimeout"`
	Fanout        int           `json:"fanout"`
	FanoutEvents  int           `json:"fanoutEvents"`
	Workers       int           `json:"workers"`
	Count         int           `json:"count"`
	Timeout       time.Duration `json:"scenarioTimeout"`
	Quick         bool          `json:"quick"`

	StoreStats bool `json:"storeStats"`

	JSON       bool   `json:"-"`
	Render     string `json:"-"`
	CPUProfile string `json:"-"`
	MemProfile string `json:"-"`
}

// quickSizes replace the defaults of flags not given explicitly under -quick.
var quickSizes = map[string]string{
	"events":        "500",
	"backlog":       "4000",
	"hang-events":   "200",
	"fanout-events": "20",
	"timeout":       "1m",
}

func parseFlags(args []string, getenv func(string) string, errOut io.Writer) (options, error) {
	var o options
	var stores, scenarios string
	fs := flag.NewFlagSet("webhooks-bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&stores, "store", "all", "stores to measure: all, or a comma list of memory, sqlite, postgres, redis")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, a comma list of "+strings.Join(allScenarios, ", "))
	fs.StringVar(&o.PostgresURL, "postgres", getenv(postgresEnv), "Postgres DSN (default $"+postgresEnv+"); pool_max_conns=16 is added when absent")
	fs.StringVar(&o.RedisURL, "redis", getenv(redisEnv), "Redis URL (default $"+redisEnv+")")
	fs.IntVar(&o.Events, "events", 20000, "steady: events emitted")
	fs.IntVar(&o.Endpoints, "endpoints", 4, "steady and backlog: endpoints subscribed to every event")
	fs.IntVar(&o.Emitters, "emitters", 8, "goroutines calling Emit concurrently")
	fs.IntVar(&o.Payload, "payload", 1024, "approximate request body size in bytes")
	fs.IntVar(&o.Backlog, "backlog", 200000, "backlog: deliveries queued while the dispatcher is stopped")
	fs.IntVar(&o.HangEndpoints, "hang-endpoints", 10, "hanging: endpoints, one of which never answers")
	fs.IntVar(&o.HangEvents, "hang-events", 5000, "hanging: events emitted")
	fs.DurationVar(&o.HangTimeout, "hang-timeout", 2*time.Second, "hanging: the webhooks' timeout (Limits.MaxTimeout)")
	fs.IntVar(&o.Fanout, "fanout", 20, "fanout: endpoints subscribed to the one event (at most 20, the per-company limit)")
	fs.IntVar(&o.FanoutEvents, "fanout-events", 200, "fanout: events emitted one after another")
	fs.IntVar(&o.Workers, "workers", 64, "Config.Workers, and the raw ceiling's concurrency")
	fs.IntVar(&o.Count, "count", 1, "run every scenario this many times and report medians")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "longest wait for one scenario's deliveries")
	fs.BoolVar(&o.Quick, "quick", false, "small sizes (a run takes seconds): "+quickHelp())
	fs.BoolVar(&o.StoreStats, "store-stats", false, "count the dispatcher's store calls (steady, backlog): calls, items per call, time per call")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&o.Render, "render", "", "print the tables of a report saved with -json (file, - for stdin) instead of measuring")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile at the end of the run to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.Quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickSizes {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return o, err
				}
			}
		}
	}
	var err error
	if o.Stores, err = parseList(stores, allStores); err != nil {
		return o, fmt.Errorf("-store: %w", err)
	}
	if o.Scenarios, err = parseList(scenarios, allScenarios); err != nil {
		return o, fmt.Errorf("-scenarios: %w", err)
	}
	return o, o.validate()
}

func quickHelp() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(quickSizes)) {
		parts = append(parts, "-"+k+" "+quickSizes[k])
	}
	return strings.Join(parts, ", ")
}

// parseList splits a comma list, expanding "all" and keeping known's order.
func parseList(s string, known []string) ([]string, error) {
	want := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		switch {
		case p == "":
		case p == "all":
			for _, k := range known {
				want[k] = true
			}
		case slices.Contains(known, p):
			want[p] = true
		default:
			return nil, fmt.Errorf("unknown %q (want all or %s)", p, strings.Join(known, ", "))
		}
	}
	var out []string
	for _, k := range known {
		if want[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func (o *options) validate() error {
	var bad []string
	positive := map[string]int{"-events": o.Events, "-endpoints": o.Endpoints, "-emitters": o.Emitters,
		"-backlog": o.Backlog, "-hang-events": o.HangEvents, "-fanout": o.Fanout, "-fanout-events": o.FanoutEvents,
		"-workers": o.Workers, "-count": o.Count, "-payload": o.Payload}
	for _, k := range slices.Sorted(maps.Keys(positive)) {
		if positive[k] <= 0 {
			bad = append(bad, k+" must be positive")
		}
	}
	if o.HangEndpoints < 2 {
		bad = append(bad, "-hang-endpoints must be at least 2 (one hangs)")
	}
	// A company (here: the system-wide webhooks of the one client) holds at
	// most 20 webhooks by default.
	for name, n := range map[string]int{"-endpoints": o.Endpoints, "-hang-endpoints": o.HangEndpoints, "-fanout": o.Fanout} {
		if n > maxEndpoints {
			bad = append(bad, fmt.Sprintf("%s must be at most %d", name, maxEndpoints))
		}
	}
	if o.HangTimeout < 100*time.Millisecond {
		bad = append(bad, "-hang-timeout must be at least 100ms")
	}
	if o.Timeout <= 0 {
		bad = append(bad, "-timeout must be positive")
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
		os.Exit(2)
	}
	if o.Render != "" {
		if err := render(o.Render, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}

	rep := run(ctx, o, os.Stderr)

	if o.MemProfile != "" {
		if err := writeHeapProfile(o.MemProfile); err != nil {
			fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
		}
	}
	if o.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "webhooks-bench:", err)
		}
	} else {
		writeTables(os.Stdout, rep)
	}
	if rep.Failed() {
		stop()
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// render prints the tables of a saved -json report.
func render(path string, stdin io.Reader, out io.Writer) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var rep Report
	if err := json.NewDecoder(in).Decode(&rep); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for _, s := range rep.Stores {
		if len(s.PerRun) > 1 { // recompute the medians from the runs
			errs := slices.DeleteFunc(slices.Clone(s.Errors), func(e string) bool { return !strings.HasPrefix(e, "interrupted") })
			s.Errors = nil
			s.fill(s.PerRun)
			s.Errors = append(s.Errors, errs...)
		}
	}
	rep.Targets = targets(&rep)
	writeTables(out, &rep)
	return nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// run measures every selected store and returns the report; progress goes
// to progress. Failures are recorded in the report, not returned.
func run(ctx context.Context, o options, progress io.Writer) *Report {
	rep := &Report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Options:    o,
		Memory: "peak heap = HeapInuse (runtime/metrics heap objects + unused spans) and peak RSS = VmRSS " +
			"(/proc/self/status), both sampled every 50 ms over the measured window, after a GC and " +
			"debug.FreeOSMemory; RSS is the whole process (receivers and benchmark bookkeeping included, " +
			"and SQLite's C-heap which the Go heap does not see)",
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	for _, name := range o.Stores {
		sr := &StoreReport{Store: name}
		rep.Stores = append(rep.Stores, sr)
		if ctx.Err() != nil {
			sr.Skipped = "interrupted"
			continue
		}
		be, err := openBackend(ctx, name, o)
		if err != nil {
			sr.Skipped = err.Error()
			if !errors.Is(err, errNotConfigured) {
				sr.Errors = append(sr.Errors, err.Error())
			}
			logf("%s: skipped: %v", name, err)
			continue
		}
		b := &bench{o: o, be: be, logf: logf, logs: &logCounter{}}
		var runs []storeRun
		for i := range o.Count {
			if ctx.Err() != nil {
				break
			}
			if o.Count > 1 {
				logf("%s: run %d of %d", name, i+1, o.Count)
			}
			runs = append(runs, b.runOnce(ctx))
		}
		be.close()
		sr.fill(runs)
		sr.Log = b.logs.summary()
		if ctx.Err() != nil {
			sr.Errors = append(sr.Errors, "interrupted")
		}
	}
	for _, s := range o.Stores {
		if (s == "postgres" && o.PostgresURL == "") || (s == "redis" && o.RedisURL == "") {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s skipped: no URL (set -%s or $%s)", s, s, map[string]string{"postgres": postgresEnv, "redis": redisEnv}[s]))
		}
	}
	rep.Targets = targets(rep)
	return rep
}
