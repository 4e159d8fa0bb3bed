package sender

import (
	"io"
	"net/http"
	"time"
)

// DefaultMaxResponseBytes is the response body cap used when
// [Options.MaxResponseBytes] is zero or negative: 64 KiB.
const DefaultMaxResponseBytes = 64 << 10

// Response is what the receiver answered to one attempt, or, when
// [Sender.Send] also returns an error, just the time spent failing.
type Response struct {
	// StatusCode is the HTTP status of the response, including 3xx (the
	// sender never follows redirects). It is 0 when Send returned an error.
	StatusCode int

	// Header holds the response headers as received. It is nil when Send
	// returned an error.
	Header http.Header

	// Body holds at most [Options.MaxResponseBytes] raw bytes of the
	// response body, never decompressed. It is nil when Send returned an
	// error.
	Body []byte

	// Truncated reports that the body was longer than the cap. To know
	// that, the sender reads at most one byte past the cap; that byte is
	// discarded and the rest of the body is never read.
	Truncated bool

	// Duration is the time from the start of Send until the body was
	// captured or the attempt failed. It is always set.
	Duration time.Duration
}

// capture reads at most limit+1 bytes: the extra byte is the cheapest way
// to tell "exactly limit bytes" from "more than limit" for chunked bodies
// whose length is unknown up front, while still bounding what a hostile
// receiver can make us buffer.
func capture(body io.Reader, limit int) (data []byte, truncated bool, err error) {
	data, err = io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if len(data) > limit {
		return data[:limit:limit], true, nil
	}
	return data, false, err
}
