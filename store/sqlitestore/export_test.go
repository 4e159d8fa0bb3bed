package sqlitestore

// SetClaimWindow sets the claim window to max(factor*Limit, minimum) rows
// and returns a function restoring the default. Tests use a tiny window to
// exercise Claim's per-webhook fallback without a large backlog.
func SetClaimWindow(factor, minimum int) (restore func()) {
	oldFactor, oldMin := claimWindowFactor, claimWindowMin
	claimWindowFactor, claimWindowMin = factor, minimum
	return func() { claimWindowFactor, claimWindowMin = oldFactor, oldMin }
}
