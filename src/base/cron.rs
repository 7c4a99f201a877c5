//! A minimal cron schedule: the five classic fields (minute, hour, day of month, month, day
//! of week), each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of
//! those. As in Vixie cron, when both day fields are restricted a day matching either one
//! fires. Times are UTC. Used by Dragonfly's `--snapshot_cron`.

/// A parsed schedule: for each field, a bit per allowed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month and day-of-week fields were `*` (the OR rule needs it).
    any_day: bool,
    any_weekday: bool,
}

/// Parses one field over `min..=max`; returns the bit set and whether it was `*`.
fn field(text: &str, min: u32, max: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(|| format!("bad step '{s}'"))?),
            None => (part, 1),
        };
        let number = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("'{s}' is not in {min}-{max}"))
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None if step > 1 => (number(r)?, max),
                None => {
                    let n = number(r)?;
                    (n, n)
                }
            },
        };
        if lo > hi {
            return Err(format!("empty range '{range}'"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, text == "*"))
}

impl CronSchedule {
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!("a cron expression has 5 fields (minute hour day month weekday), got '{text}'"));
        };
        let (minutes, _) = field(minute, 0, 59)?;
        let (hours, _) = field(hour, 0, 23)?;
        let (days, any_day) = field(day, 1, 31)?;
        let (months, _) = field(month, 1, 12)?;
        let (mut weekdays, any_weekday) = field(weekday, 0, 7)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(CronSchedule { minutes, hours, days, months, weekdays, any_day, any_weekday })
    }

    fn matches(&self, unix_minute: u64) -> bool {
        let minute = unix_minute % 60;
        let hour = unix_minute / 60 % 24;
        let days_since_epoch = unix_minute / 1440;
        let (_, month, day) = civil_from_days(days_since_epoch as i64);
        // 1970-01-01 was a Thursday.
        let weekday = (days_since_epoch + 4) % 7;
        let day_ok = match (self.any_day, self.any_weekday) {
            (false, false) => self.days & (1 << day) != 0 || self.weekdays & (1 << weekday) != 0,
            _ => self.days & (1 << day) != 0 && self.weekdays & (1 << weekday) != 0,
        };
        self.minutes & (1 << minute) != 0 && self.hours & (1 << hour) != 0 && self.months & (1 << month) != 0 && day_ok
    }

    /// The first whole minute after `unix_secs` the schedule fires at, in Unix seconds; `None`
    /// if it fires at none within eight years (`0 0 31 2 *`: February has no 31st).
    pub fn next_after(&self, unix_secs: u64) -> Option<u64> {
        let first = unix_secs / 60 + 1;
        // Eight years covers every leap-day schedule; the walk is by minute, so bounded.
        (first..first + 8 * 366 * 1440).find(|&m| self.matches(m)).map(|m| m * 60)
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-01 00:00:00 UTC, a Friday.
    const MARCH_1_2024: u64 = 1_709_251_200;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days((MARCH_1_2024 / 86_400) as i64), (2024, 3, 1));
        assert_eq!(civil_from_days((MARCH_1_2024 / 86_400) as i64 - 1), (2024, 2, 29));
    }

    #[test]
    fn next_times() {
        let every_minute = CronSchedule::parse("* * * * *").unwrap();
        assert_eq!(every_minute.next_after(MARCH_1_2024), Some(MARCH_1_2024 + 60));
        assert_eq!(every_minute.next_after(MARCH_1_2024 + 59), Some(MARCH_1_2024 + 60));
        let quarter = CronSchedule::parse("*/15 * * * *").unwrap();
        assert_eq!(quarter.next_after(MARCH_1_2024 + 60), Some(MARCH_1_2024 + 900));
        let nightly = CronSchedule::parse("30 2 * * *").unwrap();
        assert_eq!(nightly.next_after(MARCH_1_2024), Some(MARCH_1_2024 + 2 * 3600 + 1800));
        // Mondays at 00:00: 2024-03-04.
        let monday = CronSchedule::parse("0 0 * * 1").unwrap();
        assert_eq!(monday.next_after(MARCH_1_2024), Some(MARCH_1_2024 + 3 * 86_400));
        // Day 15 or a Sunday (OR rule): Sunday 2024-03-03 comes first.
        let either = CronSchedule::parse("0 0 15 * 0").unwrap();
        assert_eq!(either.next_after(MARCH_1_2024), Some(MARCH_1_2024 + 2 * 86_400));
        let list = CronSchedule::parse("5,10-12 0 1 3,4 *").unwrap();
        assert_eq!(list.next_after(MARCH_1_2024 + 5 * 60), Some(MARCH_1_2024 + 10 * 60));
        assert_eq!(CronSchedule::parse("0 0 31 2 *").unwrap().next_after(MARCH_1_2024), None);
    }

    #[test]
    fn bad_expressions() {
        for bad in ["", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "*/0 * * * *", "5-1 * * * *", "a * * * *"] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
