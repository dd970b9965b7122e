//! Human-readable figures for text surfaces (CLI, tray tooltip), matching
//! what `podman stats` and `podman ps` print.

/// `9.6MB`, `2.9GB`: decimal units like `podman stats`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

/// `45s`, `30m`, `3h12m`, `2d4h`.
pub fn human_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(9_600_000), "9.6MB");
        assert_eq!(human_bytes(2_900_000_000), "2.9GB");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration_ms(-5), "0s");
        assert_eq!(human_duration_ms(45_000), "45s");
        assert_eq!(human_duration_ms(30 * 60_000), "30m");
        assert_eq!(human_duration_ms(3 * 3_600_000 + 12 * 60_000), "3h12m");
        assert_eq!(human_duration_ms(52 * 3_600_000), "2d4h");
    }
}
