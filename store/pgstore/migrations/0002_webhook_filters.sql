-- 0002_webhook_filters: payload filters (webhooks.Webhook.Filters) as their
-- canonical JSON text, kept byte for byte (text, not jsonb); NULL means no
-- filter.
ALTER TABLE webhooks_endpoints ADD COLUMN filters text;
