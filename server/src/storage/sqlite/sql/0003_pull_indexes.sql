-- Version 3: a pull for someone outside the back office starts from the tickets that concern
-- them (reported, assigned, their team's queue, held by the device) and reads only those
-- tickets' changes, instead of walking every change of the tenant (`bench load`: with 1,000
-- devices each round walked everyone's changes).
CREATE INDEX changes_ticket_seq ON changes(ticket_id, seq);
CREATE INDEX tickets_reporter ON tickets(tenant_id, reporter_id);
CREATE INDEX tickets_assignee ON tickets(tenant_id, assignee);
CREATE INDEX tickets_team_queue ON tickets(tenant_id, team) WHERE assignee IS NULL;
