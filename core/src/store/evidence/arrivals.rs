//! Location fixes: arrivals on site recorded on the technician's open tickets, and the
//! technician's position queued (throttled) for the server.

use fieldwork_protocol::sync::{POSITION_MIN_INTERVAL_MS, PositionReport};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::location::{LocationFix, arrival_distance};
use crate::model::Role;
use crate::store::{ChangeOrigin, Result, TicketStore, edit_in, persist};
use crate::ticket::Edit;

/// What a location fix did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocateReport {
    /// Tickets on which an arrival on site was recorded.
    pub arrivals: Vec<String>,
    /// The fix waits to be reported to the server as this technician's position.
    pub position_queued: bool,
}

impl TicketStore {
    /// Takes a position fix from the OS: records an arrival on every open ticket assigned to this
    /// technician whose site the fix falls inside (once per visit), and queues the position for
    /// the server (technicians only; sent by sync, throttled). Other roles: validated, no effect.
    pub fn locate(&self, fix: LocationFix) -> Result<LocateReport> {
        let identity = self.identity()?;
        let now = self.clock.now_ms();
        fix.validate(now)?;
        if identity.actor.role != Role::Technician {
            return Ok(LocateReport::default());
        }
        let fix = LocationFix {
            at: Some(fix.at.unwrap_or(now)),
            ..fix
        };
        let me = identity.actor.user_id.clone();
        let report = self.write(|tx| {
            let candidates: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM tickets WHERE assignee = ?1 AND lat IS NOT NULL
                     AND status NOT IN ('resolved', 'closed', 'cancelled')",
                )?
                .query_map([&me], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            let mut arrivals = Vec::new();
            for id in candidates {
                let Some(view) = persist::load_view(tx, &id)? else {
                    continue;
                };
                let Some(site) = &view.site else { continue };
                let Some(distance) = arrival_distance(&fix, site.lat, site.lon, site.accuracy_m)
                else {
                    continue;
                };
                if view.arrival_due(&me) {
                    let edit = Edit::RecordArrival {
                        distance_m: distance.round() as i64,
                    };
                    edit_in(tx, &self.held, &identity, &id, &[edit], now)?;
                    arrivals.push(id);
                }
            }
            tx.prepare_cached(
                "INSERT INTO position_report (id, lat, lon, accuracy_m, at, sent_at) VALUES (1, ?1, ?2, ?3, ?4, NULL)
                 ON CONFLICT(id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon,
                     accuracy_m = excluded.accuracy_m, at = excluded.at, sent_at = NULL",
            )?
            .execute(params![fix.lat, fix.lon, fix.accuracy_m, fix.at])?;
            Ok(LocateReport {
                arrivals,
                position_queued: true,
            })
        })?;
        self.notify(report.arrivals.clone(), ChangeOrigin::Local);
        Ok(report)
    }

    /// The position to report to the server at `now`, if one waits and the last report was long
    /// enough ago.
    pub fn due_position_report(&self, now: i64) -> Result<Option<PositionReport>> {
        self.read(|conn| {
            let waiting: Option<(PositionReport, Option<i64>)> = conn
                .prepare_cached(
                    "SELECT lat, lon, accuracy_m, at, last_sent_at FROM position_report
                     WHERE id = 1 AND sent_at IS NULL",
                )?
                .query_row([], |r| {
                    let report = PositionReport {
                        lat: r.get(0)?,
                        lon: r.get(1)?,
                        accuracy_m: r.get(2)?,
                        at: r.get(3)?,
                    };
                    Ok((report, r.get(4)?))
                })
                .optional()?;
            Ok(waiting.and_then(|(report, last_sent)| {
                let throttled = last_sent.is_some_and(|last| now - last < POSITION_MIN_INTERVAL_MS);
                (!throttled).then_some(report)
            }))
        })
    }

    /// The server took (or, for a role that does not report, will never take) the position.
    pub fn record_position_sent(&self, report: &PositionReport, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE position_report SET sent_at = ?2, last_sent_at = ?2 WHERE id = 1 AND at = ?1",
            )?
            .execute(params![report.at, now])?;
            Ok(())
        })
    }
}
