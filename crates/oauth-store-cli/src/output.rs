//! Times in words and the `list` table.

use std::time::{Duration, SystemTime};

/// `in 5 minutes`, `3 hours ago`: a time relative to `now`, rounded down to one unit.
pub(crate) fn relative(at: SystemTime, now: SystemTime) -> String {
    match at.duration_since(now) {
        Ok(ahead) if !ahead.is_zero() => format!("in {}", span(ahead)),
        _ => {
            let ago = now.duration_since(at).unwrap_or_default();
            if ago < Duration::from_secs(1) {
                "just now".to_owned()
            } else {
                format!("{} ago", span(ago))
            }
        }
    }
}

/// When an entry expires, in words: `never`, `expired`, `in 2 hours`.
pub(crate) fn expiry(at: Option<SystemTime>, now: SystemTime) -> String {
    match at {
        None => "never".to_owned(),
        Some(at) if at <= now => "expired".to_owned(),
        Some(at) => relative(at, now),
    }
}

fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0..60 => (s, "second"),
        60..3_600 => (s / 60, "minute"),
        3_600..172_800 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Lays out rows under a header, each column as wide as its widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_words() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let secs = Duration::from_secs;
        assert_eq!(expiry(None, now), "never");
        assert_eq!(expiry(Some(now), now), "expired");
        assert_eq!(expiry(Some(now + secs(1)), now), "in 1 second");
        assert_eq!(expiry(Some(now + secs(59)), now), "in 59 seconds");
        assert_eq!(expiry(Some(now + secs(3_599)), now), "in 59 minutes");
        assert_eq!(expiry(Some(now + secs(7_200)), now), "in 2 hours");
        assert_eq!(expiry(Some(now + secs(3 * 86_400)), now), "in 3 days");
        assert_eq!(relative(now - secs(120), now), "2 minutes ago");
        assert_eq!(relative(now, now), "just now");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["KEY", "EXPIRES"],
            &[
                vec!["github".into(), "never".into()],
                vec!["g".into(), "in 2 hours".into()],
            ],
        );
        assert_eq!(t, "KEY     EXPIRES\ngithub  never\ng       in 2 hours\n");
    }
}
