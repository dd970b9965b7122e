//! CPU percentage from cumulative counters. Podman's one-shot stats carry no
//! previous sample (`precpu` is all zero), so the rate comes from two samples
//! that we keep ourselves; before the second one, the average since the
//! container started is the honest figure (what `podman stats --no-stream`
//! shows too).

/// Cumulative CPU counters read from one stats call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// Container CPU time, nanoseconds.
    pub container_ns: u64,
    /// Host CPU time across all cores, nanoseconds, when the engine reports it.
    pub system_ns: Option<u64>,
    pub online_cpus: u32,
    /// Wall clock when sampled, ms since the Unix epoch.
    pub taken_at_ms: i64,
}

/// Percent of one core used between `prev` and `cur`, or since `started_at_ms`
/// when there is no previous sample. Never negative, never NaN: counters that
/// went backwards (a restart) give the since-start average instead.
pub fn cpu_percent(prev: Option<&CpuSample>, cur: &CpuSample, started_at_ms: Option<i64>) -> f64 {
    if let Some(prev) = prev {
        if cur.container_ns >= prev.container_ns {
            let used = (cur.container_ns - prev.container_ns) as f64;
            if let (Some(s0), Some(s1)) = (prev.system_ns, cur.system_ns) {
                if s1 > s0 {
                    let cpus = f64::from(cur.online_cpus.max(1));
                    return used / (s1 - s0) as f64 * cpus * 100.0;
                }
            }
            let wall_ms = cur.taken_at_ms - prev.taken_at_ms;
            if wall_ms > 0 {
                return used / (wall_ms as f64 * 1e6) * 100.0;
            }
        }
    }
    match started_at_ms {
        Some(start) if cur.taken_at_ms > start => {
            cur.container_ns as f64 / ((cur.taken_at_ms - start) as f64 * 1e6) * 100.0
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(container_ns: u64, system_ns: Option<u64>, at: i64) -> CpuSample {
        CpuSample {
            container_ns,
            system_ns,
            online_cpus: 2,
            taken_at_ms: at,
        }
    }

    #[test]
    fn two_samples_use_the_system_counter() {
        // Container used 0.5 s of CPU while the host's 2 cores did 2 s: one
        // quarter of the machine, i.e. half of one core.
        let a = sample(1_000_000_000, Some(10_000_000_000), 0);
        let b = sample(1_500_000_000, Some(12_000_000_000), 1000);
        assert!((cpu_percent(Some(&a), &b, None) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn without_system_counter_wall_time_is_used() {
        let a = sample(0, None, 0);
        let b = sample(250_000_000, None, 1000);
        assert!((cpu_percent(Some(&a), &b, None) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn first_sample_is_the_average_since_start() {
        let b = sample(2_000_000_000, Some(1), 20_000);
        assert!((cpu_percent(None, &b, Some(10_000)) - 20.0).abs() < 1e-9);
        assert_eq!(cpu_percent(None, &b, None), 0.0);
    }

    #[test]
    fn counters_going_backwards_fall_back_instead_of_going_negative() {
        let a = sample(5_000_000_000, Some(100), 0);
        let b = sample(1_000_000_000, Some(200), 10_000);
        let p = cpu_percent(Some(&a), &b, Some(0));
        assert!((p - 10.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn equal_timestamps_do_not_divide_by_zero() {
        let a = sample(1, Some(5), 100);
        let b = sample(2, Some(5), 100);
        assert_eq!(cpu_percent(Some(&a), &b, Some(100)), 0.0);
    }
}
