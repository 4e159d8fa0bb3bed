package main

import "github.com/webhookkit/webhooks"

// tgmCatalog returns the TGM Expert event catalog: every event of the
// seed's "Available Events" tables, with its category and description
// verbatim. webhook.ping (the test delivery) is built into the library and
// is not listed; "*" is a subscription pattern, not an event.
func tgmCatalog() []webhooks.EventType {
	type entry struct{ name, description string }
	groups := []struct {
		category string
		events   []entry
	}{
		{"Asset", []entry{
			{"location.created", "Location/plant created"},
			{"location.updated", "Location/plant updated"},
			{"location.deleted", "Location/plant deleted"},
			{"unit.created", "Unit created"},
			{"unit.updated", "Unit updated"},
			{"unit.deleted", "Unit deleted"},
			{"component.created", "Component created"},
			{"component.updated", "Component updated"},
			{"component.deleted", "Component deleted"},
		}},
		{"Maintenance", []entry{
			{"inspection.created", "Inspection created"},
			{"inspection.updated", "Inspection updated"},
			{"inspection.deleted", "Inspection deleted"},
			{"intervention.created", "Intervention created"},
			{"intervention.updated", "Intervention updated"},
			{"intervention.deleted", "Intervention deleted"},
			{"work_order.created", "Work order created"},
			{"work_order.updated", "Work order updated"},
			{"work_order.deleted", "Work order deleted"},
			{"work_order.status_changed", "Work order status changed"},
			{"failure.created", "Failure recorded"},
			{"failure.updated", "Failure updated"},
			{"failure.deleted", "Failure deleted"},
		}},
		{"Monitoring", []entry{
			{"alert.created", "Alert triggered"},
			{"alert.updated", "Alert updated"},
			{"alert.acknowledged", "Alert acknowledged"},
			{"alert.resolved", "Alert resolved"},
			{"sensor.created", "Sensor configured"},
			{"sensor.updated", "Sensor updated"},
			{"sensor.deleted", "Sensor removed"},
			{"sensor.reading_received", "Sensor reading received"},
		}},
		{"Lifecycle", []entry{
			{"asset_lifecycle.created", "Lifecycle record created"},
			{"asset_lifecycle.updated", "Lifecycle updated"},
			{"asset_lifecycle.deleted", "Lifecycle deleted"},
			{"maintenance_plan.created", "Maintenance plan created"},
			{"maintenance_plan.updated", "Maintenance plan updated"},
			{"maintenance_plan.due", "Maintenance is due"},
			{"spare_part.low_stock", "Spare part stock is low"},
		}},
		{"Document", []entry{
			{"document.created", "Document uploaded"},
			{"document.updated", "Document updated"},
			{"document.deleted", "Document deleted"},
			{"drawing.created", "Drawing uploaded"},
			{"drawing.updated", "Drawing updated"},
			{"drawing.deleted", "Drawing deleted"},
		}},
		{"Communication", []entry{
			{"notification.created", "Notification created"},
			{"comment.created", "Comment added"},
			{"comment.updated", "Comment updated"},
			{"comment.deleted", "Comment deleted"},
			{"todo.created", "Todo created"},
			{"todo.updated", "Todo updated"},
			{"todo.completed", "Todo completed"},
		}},
	}
	var out []webhooks.EventType
	for _, g := range groups {
		for _, e := range g.events {
			out = append(out, webhooks.EventType{Name: e.name, Category: g.category, Description: e.description})
		}
	}
	return out
}
