-- 0003_webhook_filters: payload filters (webhooks.Webhook.Filters) as their
-- canonical JSON text; NULL means no filter.
ALTER TABLE webhooks_endpoints ADD COLUMN filters TEXT;
