//! Event times, durations and the injectable clock.
//!
//! Time is kept as microseconds since the Unix epoch, UTC. Event times come
//! either as strict ISO-8601 UTC text (`yyyy-MM-ddTHH:mm:ss[.fraction]Z`,
//! fraction up to 9 digits, truncated to the microsecond) or as epoch
//! seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Result, invalid};

/// Microseconds in a second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;

/// Parses strict ISO-8601 UTC text into epoch microseconds.
pub fn parse_iso8601(text: &str) -> Result<i64> {
    let bad = || {
        invalid!("'{text}' is not an ISO-8601 UTC time of the form yyyy-MM-ddTHH:mm:ss[.fraction]Z")
    };
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    if *b.last().ok_or_else(bad)? != b'Z' {
        return Err(bad());
    }
    let digits = |from: usize, to: usize| -> Result<i64> {
        let part = &b[from..to];
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let mut micros_fraction = 0i64;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return Err(bad());
        }
        let fraction = &rest[1..];
        if !fraction.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        for i in 0..6 {
            micros_fraction =
                micros_fraction * 10 + fraction.get(i).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    if year < 1
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok(seconds * MICROS_PER_SECOND + micros_fraction)
}

/// Formats epoch microseconds as ISO-8601 UTC with microseconds, e.g.
/// `2026-01-02T03:04:05.000006Z`.
pub fn format_iso8601(micros: i64) -> String {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// Converts epoch seconds (a fractional event time) to microseconds.
pub fn epoch_seconds_to_micros(seconds: f64) -> Result<i64> {
    // Years 1 to 9999, the same range ISO-8601 times cover.
    const MIN: f64 = -62_135_596_800.0;
    const MAX: f64 = 253_402_300_799.0;
    if !seconds.is_finite() || !(MIN..=MAX).contains(&seconds) {
        return Err(invalid!(
            "{seconds} is not an event time in epoch seconds between years 1 and 9999"
        ));
    }
    Ok((seconds * MICROS_PER_SECOND as f64).round() as i64)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The time source of the server: TTL expiry, `api_invocation_time` and
/// creation times all read it, so tests can move time by hand.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in epoch microseconds.
    fn now_micros(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock reading `micros`.
    pub fn new(micros: i64) -> Self {
        Self(Arc::new(AtomicI64::new(micros)))
    }

    /// Sets the time.
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }

    /// Moves the time forward by `micros`.
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_iso8601("1970-01-01T00:00:01.5Z").unwrap(), 1_500_000);
        assert_eq!(
            parse_iso8601("1970-01-01T00:00:00.123456789Z").unwrap(),
            123_456
        );
        assert_eq!(
            parse_iso8601("2026-01-02T00:00:00Z").unwrap(),
            1_767_312_000 * MICROS_PER_SECOND
        );
        assert_eq!(
            parse_iso8601("1969-12-31T23:59:59Z").unwrap(),
            -MICROS_PER_SECOND
        );
    }

    #[test]
    fn refuses_other_forms() {
        for text in [
            "2026-01-02",
            "2026-01-02T00:00:00",
            "2026-01-02T00:00:00+00:00",
            "2026-01-02 00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-02T24:00:00Z",
            "2026-01-02T00:00:00.Z",
            "2026-01-02T00:00:00.1234567890Z",
            "0000-01-01T00:00:00Z",
            "２026-01-02T00:00:00Z",
        ] {
            assert!(parse_iso8601(text).is_err(), "{text}");
        }
    }

    #[test]
    fn epoch_seconds_round_to_the_microsecond() {
        assert_eq!(epoch_seconds_to_micros(1.0000004).unwrap(), 1_000_000);
        assert!(epoch_seconds_to_micros(f64::NAN).is_err());
        assert!(epoch_seconds_to_micros(1e300).is_err());
    }

    proptest! {
        #[test]
        fn format_and_parse_round_trip(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64) {
            prop_assert_eq!(parse_iso8601(&format_iso8601(micros)).unwrap(), micros);
        }
    }
}
