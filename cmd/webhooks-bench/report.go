package main

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the whole run, as printed by -json.
type Report struct {
	Date       string         `json:"date"`
	GoVersion  string         `json:"goVersion"`
	OS         string         `json:"os"`
	Cores      int            `json:"cores"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	Options    options        `json:"options"`
	Memory     string         `json:"memoryMethod"`
	Stores     []*StoreReport `json:"stores"`
	Targets    []Target       `json:"targets"`
	Notes      []string       `json:"notes,omitempty"`
}

// StoreReport holds one store's figures: with -count > 1 every number is
// the median over the runs that completed (ratios are taken within each
// run first).
type StoreReport struct {
	Store   string         `json:"store"`
	Skipped string         `json:"skipped,omitempty"`
	Runs    int            `json:"runs"`
	Raw     *RawResult     `json:"raw,omitempty"`
	Steady  *SteadyResult  `json:"steady,omitempty"`
	Backlog *BacklogResult `json:"backlog,omitempty"`
	Hanging *HangingResult `json:"hanging,omitempty"`
	Fanout  *FanoutResult  `json:"fanout,omitempty"`
	// Errors lists failed scenarios (deliveries missing, store errors).
	Errors []string `json:"errors,omitempty"`
	// Log lists the warnings and errors the dispatchers and stores logged.
	Log []string `json:"log,omitempty"`
	// PerRun holds every run's figures when -count > 1.
	PerRun []storeRun `json:"perRun,omitempty"`
}

type counted interface {
	counts() (got, want, dups int64)
}

// Failed reports whether any scenario of any store failed.
func (r *Report) Failed() bool {
	for _, s := range r.Stores {
		if len(s.Errors) > 0 {
			return true
		}
	}
	return false
}

func (s *StoreReport) fill(runs []storeRun) {
	s.Runs = len(runs)
	if len(runs) > 1 {
		s.PerRun = runs
	}
	s.Raw = pick(s, "raw", runs, func(r storeRun) *RawResult { return r.Raw })
	s.Steady = pick(s, "steady", runs, func(r storeRun) *SteadyResult { return r.Steady })
	s.Backlog = pick(s, "backlog", runs, func(r storeRun) *BacklogResult { return r.Backlog })
	s.Hanging = pick(s, "hanging", runs, func(r storeRun) *HangingResult { return r.Hanging })
	s.Fanout = pick(s, "fanout", runs, func(r storeRun) *FanoutResult { return r.Fanout })
}

// pick records the failures of one scenario and returns the median of the
// runs that completed (the first failure when none did).
func pick[T any](s *StoreReport, name string, runs []storeRun, get func(storeRun) *T) *T {
	var ok, failed []*T
	for i, r := range runs {
		res := get(r)
		if res == nil {
			continue
		}
		msg := reflect.ValueOf(res).Elem().FieldByName("Error").String()
		if c, isCounted := any(res).(counted); isCounted && msg == "" {
			if got, want, _ := c.counts(); got != want {
				msg = fmt.Sprintf("%d of %d deliveries arrived", got, want)
			}
		}
		if msg != "" {
			run := ""
			if len(runs) > 1 {
				run = fmt.Sprintf(" (run %d)", i+1)
			}
			s.Errors = append(s.Errors, name+run+": "+msg)
			failed = append(failed, res)
			continue
		}
		ok = append(ok, res)
	}
	if len(ok) == 0 {
		if len(failed) > 0 {
			return failed[0]
		}
		return nil
	}
	return median(ok)
}

// median returns a copy of rs[0] whose numeric fields, nested ones
// included, are the medians of the fields over rs.
func median[T any](rs []*T) *T {
	out := new(T)
	*out = *rs[0]
	srcs := make([]reflect.Value, len(rs))
	for i, r := range rs {
		srcs[i] = reflect.ValueOf(r).Elem()
	}
	medianInto(reflect.ValueOf(out).Elem(), srcs)
	return out
}

func medianInto(dst reflect.Value, srcs []reflect.Value) {
	switch dst.Kind() {
	case reflect.Float64:
		vals := make([]float64, len(srcs))
		for j, v := range srcs {
			vals[j] = v.Float()
		}
		slices.Sort(vals)
		m := vals[len(vals)/2]
		if len(vals)%2 == 0 {
			m = (vals[len(vals)/2-1] + m) / 2
		}
		dst.SetFloat(m)
	case reflect.Int, reflect.Int64:
		vals := make([]int64, len(srcs))
		for j, v := range srcs {
			vals[j] = v.Int()
		}
		slices.Sort(vals)
		dst.SetInt(vals[(len(vals)-1)/2])
	case reflect.Struct:
		for i := range dst.NumField() {
			fields := make([]reflect.Value, len(srcs))
			for j, v := range srcs {
				fields[j] = v.Field(i)
			}
			medianInto(dst.Field(i), fields)
		}
	case reflect.Pointer:
		if dst.IsNil() || dst.Elem().Kind() != reflect.Struct {
			return
		}
		elems := make([]reflect.Value, 0, len(srcs))
		for _, v := range srcs {
			if v.IsNil() {
				return // not in every run: keep the first
			}
			elems = append(elems, v.Elem())
		}
		fresh := reflect.New(dst.Elem().Type())
		fresh.Elem().Set(dst.Elem())
		medianInto(fresh.Elem(), elems)
		dst.Set(fresh)
	}
}

// Target is one of issue 7's goals, judged on this run's figures.
type Target struct {
	Store  string `json:"store"`
	Target string `json:"target"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Met    bool   `json:"met"`
}

const backlogMemoryLimitMiB = 256

func targets(rep *Report) []Target {
	var out []Target
	add := func(store, target, want, got string, met bool) {
		out = append(out, Target{Store: store, Target: target, Want: want, Got: got, Met: met})
	}
	for _, s := range rep.Stores {
		if s.Skipped != "" {
			continue
		}
		if r := s.Steady; r != nil && r.Error == "" && r.RatioToRaw > 0 {
			floor := 0.5
			if s.Store == "memory" {
				floor = 0.8
			}
			add(s.Store, "end-to-end / raw ceiling", fmt.Sprintf("≥ %.1f", floor), fmt.Sprintf("%.2f", r.RatioToRaw), r.RatioToRaw >= floor)
		}
		if r := s.Steady; r != nil && r.Error == "" && (s.Store == "sqlite" || s.Store == "postgres") {
			add(s.Store, "Emit p99, 8 emitters", "≤ 5 ms", fmt.Sprintf("%.2f ms", r.EmitP99Ms), r.EmitP99Ms <= 5)
		}
		if r := s.Backlog; r != nil && r.Error == "" {
			if r.RatioToSteady > 0 {
				add(s.Store, "backlog drain / steady", "≥ 0.8", fmt.Sprintf("%.2f", r.RatioToSteady), r.RatioToSteady >= 0.8)
			}
			add(s.Store, "memory while draining (peak RSS)", fmt.Sprintf("< %d MiB", backlogMemoryLimitMiB),
				fmt.Sprintf("%.0f MiB (heap %.0f)", r.PeakRSSMiB, r.PeakHeapMiB), r.PeakRSSMiB < backlogMemoryLimitMiB)
		}
		if r := s.Hanging; r != nil && r.Error == "" {
			add(s.Store, "healthy beside a hanging endpoint", "≥ 0.9", fmt.Sprintf("%.2f", r.Ratio), r.Ratio >= 0.9)
		}
	}
	return out
}

func writeTables(w io.Writer, rep *Report) {
	o := rep.Options
	fmt.Fprintf(w, "webhooks-bench  %s  %s, %d cores (GOMAXPROCS %d), %s", rep.Date, rep.OS, rep.Cores, rep.GOMAXPROCS, rep.GoVersion)
	if o.Count > 1 {
		fmt.Fprintf(w, ", medians of %d runs", o.Count)
	}
	if o.Quick {
		fmt.Fprint(w, ", -quick")
	}
	fmt.Fprintln(w)

	var active []*StoreReport
	for _, s := range rep.Stores {
		if s.Skipped == "" {
			active = append(active, s)
		}
	}
	table := func(title string, header string, row func(s *StoreReport) (string, bool)) {
		var rows []string
		for _, s := range active {
			if r, ok := row(s); ok {
				rows = append(rows, s.Store+"\t"+r)
			}
		}
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "store\t"+header+"\t")
		for _, r := range rows {
			fmt.Fprintln(tw, r+"\t")
		}
		_ = tw.Flush()
	}
	failed := func(msg string) string { return "FAILED: " + msg }

	table(fmt.Sprintf("RAW CEILING: %d signed POSTs straight to %d receivers, %d goroutines, no store", o.Events*o.Endpoints, o.Endpoints, o.Workers),
		"net/http req/s\tvia sender req/s", func(s *StoreReport) (string, bool) {
			r := s.Raw
			if r == nil {
				return "", false
			}
			if r.Error != "" {
				return failed(r.Error) + "\t", true
			}
			return fmt.Sprintf("%.0f\t%.0f", r.PerSec, r.ViaSenderPerSec), true
		})
	table(fmt.Sprintf("STEADY: %d events × %d endpoints, %d emitters, %d B bodies (first Emit to last 2xx received)", o.Events, o.Endpoints, o.Emitters, o.Payload),
		"deliveries/s\t× raw\temit/s\temit p50 ms\temit p99 ms\tpeak heap MiB\tpeak RSS MiB\tdups", func(s *StoreReport) (string, bool) {
			r := s.Steady
			if r == nil {
				return "", false
			}
			if r.Error != "" {
				return failed(r.Error) + strings.Repeat("\t", 7), true
			}
			return fmt.Sprintf("%.0f\t%s\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%d", r.DeliveriesPerSec, ratio(r.RatioToRaw),
				r.EmitPerSec, r.EmitP50Ms, r.EmitP99Ms, r.PeakHeapMiB, r.PeakRSSMiB, r.Duplicates), true
		})
	table(fmt.Sprintf("BACKLOG: %d deliveries queued with the dispatcher stopped, then Start and drain", roundUp(o.Backlog, o.Endpoints)),
		"fill s\tdrain s\tdeliveries/s\t× steady\tpeak heap MiB\tpeak RSS MiB\tdups", func(s *StoreReport) (string, bool) {
			r := s.Backlog
			if r == nil {
				return "", false
			}
			if r.Error != "" {
				return failed(r.Error) + strings.Repeat("\t", 6), true
			}
			return fmt.Sprintf("%.1f\t%.1f\t%.0f\t%s\t%.0f\t%.0f\t%d", r.FillSeconds, r.Seconds, r.DeliveriesPerSec,
				ratio(r.RatioToSteady), r.PeakHeapMiB, r.PeakRSSMiB, r.Duplicates), true
		})
	table(fmt.Sprintf("HANGING: %d events to %d endpoints, one never answers (timeout %s); healthy deliveries/s", o.HangEvents, o.HangEndpoints, o.HangTimeout),
		"without it\twith it\tratio\tits requests", func(s *StoreReport) (string, bool) {
			r := s.Hanging
			if r == nil {
				return "", false
			}
			if r.Error != "" {
				return failed(r.Error) + strings.Repeat("\t", 3), true
			}
			return fmt.Sprintf("%.0f\t%.0f\t%.2f\t%d", r.WithoutPerSec, r.WithPerSec, r.Ratio, r.HangRequests), true
		})
	table(fmt.Sprintf("FAN-OUT: 1 event to %d endpoints, %d events one after another (Emit to the last endpoint's receipt)", o.Fanout, o.FanoutEvents),
		"p50 ms\tp99 ms\tdeliveries/s", func(s *StoreReport) (string, bool) {
			r := s.Fanout
			if r == nil {
				return "", false
			}
			if r.Error != "" {
				return failed(r.Error) + strings.Repeat("\t", 2), true
			}
			return fmt.Sprintf("%.2f\t%.2f\t%.0f", r.P50Ms, r.P99Ms, r.DeliveriesPerSec), true
		})

	calls := func(title string, get func(s *StoreReport) *StoreCalls) {
		table(title, "MatchWebhooks\tEnqueue\tClaim\tComplete\tRelease", func(s *StoreReport) (string, bool) {
			c := get(s)
			if c == nil {
				return "", false
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", c.Match, c.Enqueue, c.Claim, c.Complete, c.Release), true
		})
	}
	calls("STORE CALLS in steady (calls × items per call in time per call)", func(s *StoreReport) *StoreCalls {
		if s.Steady == nil {
			return nil
		}
		return s.Steady.StoreCalls
	})
	calls("STORE CALLS in backlog, fill included (calls × items per call in time per call)", func(s *StoreReport) *StoreCalls {
		if s.Backlog == nil {
			return nil
		}
		return s.Backlog.StoreCalls
	})

	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "\nTARGETS (issue 7; reported, not asserted)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "store\ttarget\twant\tgot\t")
		for _, t := range rep.Targets {
			mark := "met"
			if !t.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Store, t.Target, t.Want, t.Got, mark)
		}
		_ = tw.Flush()
	}

	var notes []string
	notes = append(notes, rep.Notes...)
	for _, s := range rep.Stores {
		if s.Skipped != "" && !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, s.Store+" ") }) {
			notes = append(notes, s.Store+" skipped: "+s.Skipped)
		}
		for _, e := range s.Errors {
			notes = append(notes, s.Store+" FAILED "+e)
		}
		for _, l := range s.Log {
			notes = append(notes, s.Store+" logged "+l)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNOTES")
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
	fmt.Fprintln(w, "\nMemory: "+rep.Memory+".")
}

func ratio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }
