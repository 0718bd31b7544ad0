-- Version 10: when each change by a person happened on the server's clock (docs/brain.md, "Time
-- of offline edits"): its author, its time on the device's clock, and its effective time (that
-- time corrected by the device's measured clock offset, clamped between the ticket's previous
-- change and the change's arrival). The service brain's SLA clocks run on effective times.
-- Changes stored before have none (the brain reads their device times, clamped).

ALTER TABLE changes ADD COLUMN author_id TEXT;
ALTER TABLE changes ADD COLUMN device_time INTEGER;
ALTER TABLE changes ADD COLUMN effective_at INTEGER;
ALTER TABLE tickets ADD COLUMN last_effective_at INTEGER;
