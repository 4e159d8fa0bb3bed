// Package sqlshared holds the logic that the SQL stores (store/pgstore and
// store/sqlitestore) share word for word and that does not depend on their
// SQL dialect or driver: reading embedded migration files, encoding and
// decoding the JSON columns of webhooks and attempts, and a few small rules
// of Claim, Complete and ListDeliveries.
//
// Its errors carry no package prefix; the stores wrap them with their own
// ("pgstore: ...", "sqlitestore: ...").
package sqlshared
