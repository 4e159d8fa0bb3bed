package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// ErrTimeout is wrapped by the error [Sender.Send] returns when
// [Request.Timeout] (default [DefaultTimeout]) elapsed before the response
// body was captured. It is not used when the caller's own context expired
// first; that error wraps the context's error instead.
var ErrTimeout = errors.New("sender: timeout")

// ErrInvalidRequest is wrapped by the error [Sender.Send] returns when the
// request was rejected before any network activity: a nil request, a URL
// that is not an absolute http or https URL with a host, a method other
// than POST, PUT or PATCH, or a negative timeout.
var ErrInvalidRequest = errors.New("sender: invalid request")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}

// phase says how far the exchange got, so a timeout in delivery history
// tells a slow-to-answer receiver apart from a slow-to-stream one.
type phase string

const (
	phaseResponse phase = "waiting for response"
	phaseBody     phase = "reading response body"
)

// classify turns a failure of the exchange into the error Send returns.
// It looks at the contexts rather than at err, because net/http reports
// the same deadline in several shapes depending on where it struck.
func classify(parent, attempt context.Context, timeout time.Duration, method, target string, p phase, err error) error {
	// A refusal by the guard is definitive whatever the contexts say; net
	// wraps it as "dial tcp 127.0.0.1:80: sender: ...", which the guard's
	// own message already says better.
	var blocked *blockedError
	if p == phaseResponse && errors.As(err, &blocked) {
		return blockedSend(method, target, blocked)
	}
	if perr := parent.Err(); perr != nil {
		// The caller gave up (cancel or its own deadline): that is not our
		// timeout, and callers need errors.Is(err, context.Canceled) to work.
		return fmt.Errorf("sender: %s %s: %s: %w", method, target, p, perr)
	}
	if errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s %s: %s %s", ErrTimeout, timeout, p, method, target)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// url.Error repeats the method and quoted URL in Go's own format;
		// keep only the cause so the message reads like the others.
		err = uerr.Err
	}
	switch {
	case p == phaseBody:
		return fmt.Errorf("sender: %s %s: %s: %w", method, target, p, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// A bare "EOF" means nothing to someone reading delivery history.
		return fmt.Errorf("sender: %s %s: connection closed by server before a response: %w", method, target, err)
	default:
		return fmt.Errorf("sender: %s %s: %w", method, target, err)
	}
}

// sendError is an error with its own text that still unwraps to its cause.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// blockedSend reports a guard refusal in Send's "sender: METHOD URL: ..."
// format; err wraps [ErrBlockedAddress].
func blockedSend(method, target string, err error) error {
	var b *blockedError
	if !errors.As(err, &b) {
		return fmt.Errorf("sender: %s %s: %w", method, target, err)
	}
	return &sendError{msg: fmt.Sprintf("sender: %s %s: %s", method, target, b.detail()), err: b}
}
