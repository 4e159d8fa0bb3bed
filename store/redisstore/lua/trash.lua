-- trash: delete another batch of a deleted webhook's deliveries.
--
-- KEYS[1] K.."trash"  set of deleted webhooks whose deliveries remain
-- ARGV[1] K
-- ARGV[2] webhook ID
-- ARGV[3] batch: the most deliveries deleted by this call
--
-- Returns the number still to delete (0: done, and the webhook leaves
-- KEYS[1]).
return drain(ARGV[2], tonumber(ARGV[3]))
