//! `--ttl` values: `90s`, `15m`, `1h`, `7days`, `1h 30m`, or a bare number of seconds.

use std::time::Duration;

/// Parses a TTL. Zero is refused: an entry that expires as it is written is a mistake.
pub(crate) fn parse_ttl(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let d = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{t:?} is too many seconds"))?
    } else {
        humantime::parse_duration(t).map_err(|e| {
            format!("{t:?} is not a duration ({e}); write e.g. 90s, 15m, 1h or 7days")
        })?
    };
    if d.is_zero() {
        return Err("a TTL must be longer than zero".to_owned());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_forms() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("7days"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_ttl("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_ttl(" 2m "), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn rejects_nonsense_with_the_reason() {
        for bad in ["", "abc", "-5s", "1 parsec", "5x"] {
            let e = parse_ttl(bad).unwrap_err();
            assert!(e.contains("duration") || e.contains("zero"), "{bad}: {e}");
        }
        assert!(parse_ttl("0").unwrap_err().contains("zero"));
        assert!(parse_ttl("0s").unwrap_err().contains("zero"));
        assert!(parse_ttl("99999999999999999999999").is_err());
    }
}
