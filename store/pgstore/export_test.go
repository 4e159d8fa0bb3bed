package pgstore

// SetClaimWindow sets the claim window to max(factor*Limit, minimum) rows
// and returns a function restoring the default. Tests use a tiny window to
// exercise Claim's per-webhook fallback without a large backlog.
func SetClaimWindow(factor, minimum int) (restore func()) {
	oldFactor, oldMin := claimWindowFactor, claimWindowMin
	claimWindowFactor, claimWindowMin = factor, minimum
	return func() { claimWindowFactor, claimWindowMin = oldFactor, oldMin }
}

// SetClaimFewHooks sets how many webhooks with open deliveries Claim looks
// up one by one before it reads the window (0: always the window first),
// and returns a function restoring the default.
func SetClaimFewHooks(n int) (restore func()) {
	old := claimFewHooks
	claimFewHooks = n
	return func() { claimFewHooks = old }
}

// ClaimSQL returns the claim statement with the store's schema filled in,
// for plan checks.
func (s *Store) ClaimSQL() string { return s.sql(claimSQL) }

// ClaimFewHooks returns the current "few webhooks" bound of Claim.
func ClaimFewHooks() int { return claimFewHooks }
