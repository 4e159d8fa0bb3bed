-- 0002_webhook_indexes: per-webhook indexes for Claim and ListDeliveries.

-- Claim's per-webhook path: the due deliveries of one webhook in due order,
-- so a claim can take a few of each active webhook's oldest without walking
-- the backlog of a disabled, excluded or capped webhook
-- (ClaimParams.MaxPerWebhook). Finished deliveries leave it.
CREATE INDEX webhooks_deliveries_webhook_due ON webhooks_deliveries (webhook_id, next_attempt_at, id)
    WHERE status IN ('PENDING', 'RETRYING');

-- ListDeliveries filtered by webhook and status, newest first: a seek to
-- (webhook, status), then IDs in order, however rare the status is.
CREATE INDEX webhooks_deliveries_webhook_status ON webhooks_deliveries (webhook_id, status, id);
