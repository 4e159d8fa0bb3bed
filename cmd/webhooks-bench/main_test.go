package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the -quick benchmark on the memory and SQLite stores,
// as CI can afford, and checks that every scenario delivered everything
// exactly once. Speed is not asserted: CI machines are shared.
func TestQuickRun(t *testing.T) {
	args := []string{"-store", "memory,sqlite", "-quick"}
	if testing.Short() || raceEnabled {
		args = append(args, "-events", "50", "-backlog", "200", "-hang-events", "20", "-fanout-events", "5")
	}
	o, err := parseFlags(args, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep := run(ctx, o, &progress)
	t.Log("\n" + progress.String())

	if len(rep.Stores) != 2 {
		t.Fatalf("got %d stores, want 2", len(rep.Stores))
	}
	for _, s := range rep.Stores {
		if s.Skipped != "" {
			t.Errorf("%s skipped: %s", s.Store, s.Skipped)
			continue
		}
		for _, e := range s.Errors {
			t.Errorf("%s: %s", s.Store, e)
		}
		results := map[string]counted{}
		if s.Raw != nil {
			results["raw"] = s.Raw
		}
		if s.Steady != nil {
			results["steady"] = s.Steady
		}
		if s.Backlog != nil {
			results["backlog"] = s.Backlog
		}
		if s.Hanging != nil {
			results["hanging"] = s.Hanging
		}
		if s.Fanout != nil {
			results["fanout"] = s.Fanout
		}
		for _, sc := range allScenarios {
			r, ok := results[sc]
			if !ok {
				t.Errorf("%s: no %s result", s.Store, sc)
				continue
			}
			got, want, dups := r.counts()
			if want == 0 || got != want {
				t.Errorf("%s %s: %d of %d deliveries arrived", s.Store, sc, got, want)
			}
			if dups != 0 {
				t.Errorf("%s %s: %d duplicate deliveries (none expected without failures)", s.Store, sc, dups)
			}
		}
		if s.Steady != nil && (s.Steady.DeliveriesPerSec <= 0 || s.Steady.RatioToRaw <= 0) {
			t.Errorf("%s steady: no rate: %+v", s.Store, s.Steady)
		}
	}
	if rep.Failed() {
		t.Error("report says the run failed")
	}

	// Both outputs render what was measured.
	var table bytes.Buffer
	writeTables(&table, rep)
	for _, want := range []string{"RAW CEILING", "STEADY", "BACKLOG", "HANGING", "FAN-OUT", "TARGETS", "memory", "sqlite"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var decoded Report
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &decoded); err != nil || len(decoded.Stores) != 2 || decoded.Stores[1].Steady == nil {
		t.Errorf("JSON report does not round-trip: %v\n%s", err, data)
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{postgresEnv: "postgres://x/y"}
	o, err := parseFlags([]string{"-store", "all", "-quick", "-events", "42"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Stores, ",") != "memory,sqlite,postgres,redis" {
		t.Errorf("stores %v", o.Stores)
	}
	if o.Events != 42 || o.Backlog != 4000 {
		t.Errorf("-quick must shrink only the sizes not given: events %d backlog %d", o.Events, o.Backlog)
	}
	if o.PostgresURL != "postgres://x/y" || o.RedisURL != "" {
		t.Errorf("URLs from the environment: %q %q", o.PostgresURL, o.RedisURL)
	}
	for _, bad := range [][]string{{"-store", "oracle"}, {"-fanout", "21"}, {"-hang-endpoints", "1"}, {"-scenarios", "nope"}} {
		if _, err := parseFlags(bad, func(string) string { return "" }, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if got := withPoolSize("postgres://u@h:5432/db?sslmode=disable"); !strings.Contains(got, "pool_max_conns=16") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("withPoolSize: %s", got)
	}
	if got := withPoolSize("host=h pool_max_conns=3"); got != "host=h pool_max_conns=3" {
		t.Errorf("withPoolSize kept the DSN's pool size: %s", got)
	}
}

// TestSkipsUnconfiguredServices: -store all without URLs measures the
// local stores and notes the others.
func TestSkipsUnconfiguredServices(t *testing.T) {
	o, err := parseFlags([]string{"-store", "postgres,redis", "-quick"}, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t.Context(), o, &bytes.Buffer{})
	if rep.Failed() || len(rep.Notes) != 2 {
		t.Fatalf("failed %v, notes %q", rep.Failed(), rep.Notes)
	}
	for _, s := range rep.Stores {
		if s.Skipped == "" {
			t.Errorf("%s was not skipped", s.Store)
		}
	}
}

func TestMedian(t *testing.T) {
	runs := []*SteadyResult{
		{DeliveriesPerSec: 3, DeliveryCounts: DeliveryCounts{Delivered: 10}, Error: "first", StoreCalls: &StoreCalls{Claim: OpStats{Calls: 5, TotalMs: 1}}},
		{DeliveriesPerSec: 1, DeliveryCounts: DeliveryCounts{Delivered: 30}, StoreCalls: &StoreCalls{Claim: OpStats{Calls: 1, TotalMs: 9}}},
		{DeliveriesPerSec: 2, DeliveryCounts: DeliveryCounts{Delivered: 20}, StoreCalls: &StoreCalls{Claim: OpStats{Calls: 3, TotalMs: 4}}},
	}
	m := median(runs)
	if m.DeliveriesPerSec != 2 || m.Delivered != 20 || m.Error != "first" {
		t.Errorf("median %+v", m)
	}
	if c := m.StoreCalls.Claim; c.Calls != 3 || c.TotalMs != 4 {
		t.Errorf("nested median %+v", c)
	}
	if runs[0].StoreCalls.Claim.Calls != 5 {
		t.Error("median changed its input")
	}
}
