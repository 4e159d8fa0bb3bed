package portal

import (
	"fmt"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

// The chart of a webhook's deliveries over the last 24 hours, by hour and
// outcome, drawn as inline SVG by the template from the numbers here.
//
// Stores list deliveries newest first by ID and have no time filter or
// aggregate, so the chart pages through the listing until it passes the
// window's start, bounded by chartMaxDeliveries: past that the chart says it
// is partial rather than loading an unbounded history per page view.

// chartMaxDeliveries bounds the deliveries read for one chart.
const chartMaxDeliveries = 5000

// Geometry of the SVG, in its own units (it scales to the page width).
const (
	chartW      = 720
	chartH      = 180
	chartTop    = 10
	chartBottom = 150 // baseline of the bars; labels go below
	chartLeft   = 36
	barGap      = 4
)

// chart is what the template draws.
type chart struct {
	Bars     []bar
	Ticks    []tick // y axis
	Labels   []label
	Success  int
	Failed   int
	Pending  int
	Partial  bool
	From, To time.Time
	W, H     int
	Left     int
	Base     int
}

// bar is one hour: stacked segments, bottom up.
type bar struct {
	Hour     time.Time
	X, W     int
	Segments []segment
	Title    string
}

type segment struct {
	Class string
	Y, H  int
}

type tick struct {
	Y     int
	Value int
}

type label struct {
	X    int
	Text string
}

// chart buckets the webhook's deliveries created in the 24 hours ending
// with the current hour (by the dispatcher's clock, Config.Now) by their
// current status.
func (c *call) chart(webhookID int64) (chart, error) {
	now := c.h.d.Now()
	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	var counts [24][3]int // success, failed, in progress
	ch := chart{From: start, To: now, W: chartW, H: chartH, Left: chartLeft, Base: chartBottom}
	p := webhooks.ListDeliveriesParams{WebhookID: webhookID, Limit: 1000}
	read := 0
	for {
		ds, err := c.h.d.Deliveries(c.r.Context(), c.scope.Client, p)
		if err != nil {
			return ch, err
		}
		done := len(ds) < p.Limit
		for _, d := range ds {
			if d.CreatedAt.Before(start) {
				done = true
				continue // IDs follow creation only roughly: keep scanning this page
			}
			i := int(d.CreatedAt.Sub(start) / time.Hour)
			if i >= 24 { // created "after now" under a clock that went back
				i = 23
			}
			switch d.Status {
			case webhooks.StatusSuccess:
				counts[i][0]++
			case webhooks.StatusFailed:
				counts[i][1]++
			default:
				counts[i][2]++
			}
		}
		read += len(ds)
		if done || len(ds) == 0 {
			break
		}
		if read >= chartMaxDeliveries {
			ch.Partial = true
			break
		}
		p.Before = ds[len(ds)-1].ID
	}
	peak := 0
	for _, b := range counts {
		ch.Success += b[0]
		ch.Failed += b[1]
		ch.Pending += b[2]
		peak = max(peak, b[0]+b[1]+b[2])
	}
	scaleMax := niceCeil(peak)
	plotH := chartBottom - chartTop
	slot := (chartW - chartLeft) / 24
	for i, b := range counts {
		h := start.Add(time.Duration(i) * time.Hour)
		br := bar{Hour: h, X: chartLeft + i*slot + barGap/2, W: slot - barGap}
		br.Title = fmt.Sprintf("%s–%s UTC: %d delivered, %d failed, %d in progress",
			h.Format("Jan 2 15:04"), h.Add(time.Hour).Format("15:04"), b[0], b[1], b[2])
		y := chartBottom
		for k, class := range []string{"ok", "bad", "wait"} {
			if b[k] == 0 {
				continue
			}
			sh := max(1, b[k]*plotH/scaleMax)
			y -= sh
			br.Segments = append(br.Segments, segment{Class: class, Y: y, H: sh})
		}
		ch.Bars = append(ch.Bars, br)
		if i%6 == 0 || i == 23 {
			ch.Labels = append(ch.Labels, label{X: br.X + br.W/2, Text: h.Format("15:04")})
		}
	}
	for _, v := range []int{0, scaleMax / 2, scaleMax} {
		ch.Ticks = append(ch.Ticks, tick{Y: chartBottom - v*plotH/scaleMax, Value: v})
	}
	return ch, nil
}

// niceCeil rounds the tallest bar up to 2, 5 or 10 times a power of ten
// (at least 2), so the axis reads in round numbers.
func niceCeil(n int) int {
	for step := 1; ; step *= 10 {
		for _, m := range []int{2, 5, 10} {
			if n <= m*step {
				return m * step
			}
		}
	}
}
