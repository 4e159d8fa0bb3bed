//go:build tools

package webhooks

import (
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
