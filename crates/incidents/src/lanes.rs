//! The timeline's lanes: for each service, its status over a span of time
//! as segments, from the status it had when the span began and the changes
//! within it. Spans nobody watched are "no data", never healthy time.

use std::collections::BTreeMap;

use serde::Serialize;
use stackwarden_health::{RecordedTransition, ServiceStatus};
use ts_rs::TS;

/// One stretch of a lane with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Segment {
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    /// `None`: no data (not watched, the engine away, before the first
    /// record).
    pub status: Option<ServiceStatus>,
    pub reason: String,
}

/// A service's lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Lane {
    pub service: String,
    pub group: String,
    pub segments: Vec<Segment>,
}

/// How much of a lane's watched time a service was healthy, from 0 to 1;
/// `None` when nothing of it was watched. Time with no data counts neither
/// way; degraded counts as not healthy, not deployed does not count.
pub fn availability(lane: &Lane) -> Option<f64> {
    let mut watched = 0i64;
    let mut healthy = 0i64;
    for s in &lane.segments {
        let span = s.to_ms - s.from_ms;
        match s.status {
            None | Some(ServiceStatus::NotDeployed) => {}
            Some(ServiceStatus::Healthy) => {
                watched += span;
                healthy += span;
            }
            Some(_) => watched += span,
        }
    }
    (watched > 0).then(|| healthy as f64 / watched as f64)
}

/// The mean time from failing to healthy again of a service over the
/// incidents given (closed ones and recoveries within open ones).
pub fn mean_time_to_recovery_ms(service: &str, incidents: &[crate::Incident]) -> Option<i64> {
    let times: Vec<i64> = incidents
        .iter()
        .flat_map(|i| i.affected.iter())
        .filter(|a| a.service == service)
        .filter_map(|a| a.recovered_at_ms.map(|r| r - a.failed_at_ms))
        .collect();
    let count = i64::try_from(times.len()).ok().filter(|n| *n > 0)?;
    Some(times.iter().sum::<i64>() / count)
}

/// A span nobody watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct GapSpan {
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    pub reason: String,
}

/// Lanes over `[from_ms, to_ms)` for `services` (name, group), in that
/// order. `before` holds each service's status (and why) as it was at
/// `from_ms`; `changes` the transitions within the span, oldest first.
pub fn lanes(
    services: &[(String, String)],
    before: &BTreeMap<String, (ServiceStatus, String)>,
    changes: &[RecordedTransition],
    gaps: &[GapSpan],
    from_ms: i64,
    to_ms: i64,
) -> Vec<Lane> {
    services
        .iter()
        .map(|(service, group)| {
            let mut cuts: Vec<(i64, Option<ServiceStatus>, String)> = Vec::new();
            match before.get(service) {
                Some((status, reason)) => cuts.push((from_ms, Some(*status), reason.clone())),
                None => cuts.push((from_ms, None, "no record yet".to_string())),
            }
            for c in changes
                .iter()
                .filter(|c| c.change.service == *service && c.at_ms >= from_ms && c.at_ms < to_ms)
            {
                cuts.push((c.at_ms, Some(c.change.to), c.change.reason.clone()));
            }
            let mut segments: Vec<Segment> = Vec::new();
            for (i, (at, status, reason)) in cuts.iter().enumerate() {
                let end = cuts.get(i + 1).map_or(to_ms, |next| next.0);
                if end > *at {
                    segments.push(Segment {
                        from_ms: *at,
                        to_ms: end,
                        status: *status,
                        reason: reason.clone(),
                    });
                }
            }
            Lane {
                service: service.clone(),
                group: group.clone(),
                segments: cut_out_gaps(segments, gaps),
            }
        })
        .collect()
}

/// `segments` with every gap's span replaced by a "no data" segment.
fn cut_out_gaps(segments: Vec<Segment>, gaps: &[GapSpan]) -> Vec<Segment> {
    let mut out = segments;
    for gap in gaps {
        let mut next = Vec::with_capacity(out.len() + 2);
        for s in out {
            let (a, b) = (s.from_ms.max(gap.from_ms), s.to_ms.min(gap.to_ms));
            if a >= b {
                next.push(s);
                continue;
            }
            if s.from_ms < a {
                next.push(Segment {
                    to_ms: a,
                    ..s.clone()
                });
            }
            next.push(Segment {
                from_ms: a,
                to_ms: b,
                status: None,
                reason: gap.reason.clone(),
            });
            if b < s.to_ms {
                next.push(Segment { from_ms: b, ..s });
            }
        }
        out = next;
    }
    // Neighbours with the same status and reason are one segment.
    let mut merged: Vec<Segment> = Vec::with_capacity(out.len());
    for s in out {
        match merged.last_mut() {
            Some(last)
                if last.status == s.status
                    && last.reason == s.reason
                    && last.to_ms == s.from_ms =>
            {
                last.to_ms = s.to_ms;
            }
            _ => merged.push(s),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_health::StatusTransition;
    use ServiceStatus::{Down, Healthy};

    fn change(at_ms: i64, service: &str, to: ServiceStatus) -> RecordedTransition {
        RecordedTransition {
            at_ms,
            change: StatusTransition {
                service: service.into(),
                from: None,
                to,
                reason: to.word().into(),
            },
        }
    }

    fn shape(lane: &Lane) -> Vec<(i64, i64, Option<ServiceStatus>)> {
        lane.segments
            .iter()
            .map(|s| (s.from_ms, s.to_ms, s.status))
            .collect()
    }

    #[test]
    fn a_lane_follows_its_changes_and_gaps_are_no_data() {
        let services = vec![
            ("db".to_string(), "core".to_string()),
            ("new".to_string(), "core".to_string()),
        ];
        let before: BTreeMap<String, (ServiceStatus, String)> =
            [("db".to_string(), (Healthy, "ok".to_string()))].into();
        let changes = vec![
            change(100, "db", Down),
            change(300, "db", Healthy),
            change(150, "new", Healthy),
        ];
        let gaps = vec![GapSpan {
            from_ms: 200,
            to_ms: 250,
            reason: "not watching".into(),
        }];
        let lanes = lanes(&services, &before, &changes, &gaps, 0, 400);
        assert_eq!(
            shape(&lanes[0]),
            [
                (0, 100, Some(Healthy)),
                (100, 200, Some(Down)),
                (200, 250, None),
                (250, 300, Some(Down)),
                (300, 400, Some(Healthy))
            ]
        );
        assert_eq!(
            shape(&lanes[1]),
            [
                (0, 150, None),
                (150, 200, Some(Healthy)),
                (200, 250, None),
                (250, 400, Some(Healthy))
            ]
        );
        assert_eq!(lanes[0].segments[2].reason, "not watching");
    }

    #[test]
    fn availability_counts_watched_time_only() {
        let lane = Lane {
            service: "db".into(),
            group: "g".into(),
            segments: vec![
                Segment {
                    from_ms: 0,
                    to_ms: 300,
                    status: Some(Healthy),
                    reason: String::new(),
                },
                Segment {
                    from_ms: 300,
                    to_ms: 400,
                    status: Some(Down),
                    reason: String::new(),
                },
                Segment {
                    from_ms: 400,
                    to_ms: 1000,
                    status: None,
                    reason: String::new(),
                },
            ],
        };
        assert_eq!(availability(&lane), Some(0.75));
        let unwatched = Lane {
            segments: vec![lane.segments[2].clone()],
            ..lane.clone()
        };
        assert_eq!(availability(&unwatched), None);
    }

    #[test]
    fn mean_time_to_recovery_over_incidents() {
        use crate::{IncidentTracker, Signal};
        let mut t = IncidentTracker::new(Default::default());
        let status = |at_ms, to| Signal::Status {
            at_ms,
            service: "db".into(),
            to,
            reason: String::new(),
            required: true,
        };
        let mut closed = Vec::new();
        for s in [
            status(0, Down),
            status(10_000, Healthy),
            status(100_000, Down),
            status(130_000, Healthy),
        ] {
            for c in t.apply(s) {
                if let crate::Change::Closed(i) = c {
                    closed.push(i);
                }
            }
        }
        assert_eq!(mean_time_to_recovery_ms("db", &closed), Some(20_000));
        assert_eq!(mean_time_to_recovery_ms("web", &closed), None);
    }

    proptest::proptest! {
        #[test]
        fn segments_tile_the_span(points in proptest::collection::vec((0i64..1000, 0u8..2), 0..20), gap in (0i64..1000, 0i64..300)) {
            let changes: Vec<RecordedTransition> = points
                .iter()
                .map(|(at, s)| change(*at, "db", if *s == 0 { Healthy } else { Down }))
                .collect::<Vec<_>>();
            let mut sorted = changes.clone();
            sorted.sort_by_key(|c| c.at_ms);
            let gaps = vec![GapSpan { from_ms: gap.0, to_ms: gap.0 + gap.1, reason: "gap".into() }];
            let lanes = lanes(&[("db".into(), "g".into())], &BTreeMap::new(), &sorted, &gaps, 0, 1000);
            let segs = &lanes[0].segments;
            proptest::prop_assert_eq!(segs.first().map(|s| s.from_ms), Some(0));
            proptest::prop_assert_eq!(segs.last().map(|s| s.to_ms), Some(1000));
            for pair in segs.windows(2) {
                proptest::prop_assert_eq!(pair[0].to_ms, pair[1].from_ms);
            }
            proptest::prop_assert!(segs.iter().all(|s| s.from_ms < s.to_ms));
        }
    }
}
