//! Memory sizes as people write them: `512MB`, `4GB`, `2GiB`, `1.5G`.

/// Bytes in `text`; decimal units (kB, MB, GB, TB, also k, M, G, T) and
/// binary ones (KiB, MiB, GiB, TiB). Never panics and never saturates: a
/// size beyond `u64` is an error that says so.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let s = text.trim();
    // ASCII digits and dots only, so `split` is a char boundary.
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 512MB or 4GB"))?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "k" | "kB" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}`; use B, kB, MB, GB, TB or KiB, MiB, GiB, TiB"
            ))
        }
    };
    let bytes = (value * factor).round();
    // 2^64 is exactly representable; anything at or above it does not fit.
    if !bytes.is_finite() || bytes >= 18_446_744_073_709_551_616.0 {
        return Err(format!("`{s}` is too large a size"));
    }
    // In range and integral: the conversion is exact.
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512MB"), Ok(512_000_000));
        assert_eq!(parse_bytes("4GB"), Ok(4_000_000_000));
        assert_eq!(parse_bytes("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("4XB")
            .unwrap_err()
            .contains("unknown size unit `XB`"));
    }

    #[test]
    fn sizes_beyond_u64_are_errors_not_saturated() {
        for huge in [
            "99999999999999999999",
            "20000000TB",
            "16EiB",
            &"9".repeat(400),
            &format!("{}TiB", "9".repeat(30)),
        ] {
            let r = parse_bytes(huge);
            assert!(r.is_err(), "{huge}: {r:?}");
        }
        assert!(parse_bytes("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(parse_bytes("16000000TB"), Ok(16_000_000_000_000_000_000));
        assert!(parse_bytes("ü").is_err());
        assert!(parse_bytes("1ü").is_err());
    }
}
