//! The one clock keyward reads. `KEYWARD_NOW` (Unix seconds or an RFC 3339 time) sets
//! it, so tests can provoke grace periods, expiry and health findings; nothing else
//! should call the system clock for dates.

/// Env var that pins the clock (for tests and reproducible reports).
pub const ENV_NOW: &str = "KEYWARD_NOW";

/// Now, in Unix seconds.
pub fn now() -> i64 {
    if let Some(v) = crate::env::var(ENV_NOW) {
        if let Ok(secs) = v.trim().parse::<i64>() {
            return secs;
        }
        if let Ok(ts) = v.trim().parse::<jiff::Timestamp>() {
            return ts.as_second();
        }
    }
    jiff::Timestamp::now().as_second()
}

/// Today (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    date_of(now())
}

/// The UTC date of a Unix time, `YYYY-MM-DD`.
pub fn date_of(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Unix time of the start (00:00 UTC) of a `YYYY-MM-DD` date.
pub fn parse_date(date: &str) -> Option<i64> {
    let d: jiff::civil::Date = date.parse().ok()?;
    d.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// Seconds in a day.
pub const DAY: i64 = 86_400;
