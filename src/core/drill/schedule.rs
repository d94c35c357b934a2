//! When a scheduled drill is due: `[[drill]]` entries run a runbook every so often, only
//! inside an allowed window of the week (seed 004's "business hours only"). Pure: the
//! runtime hands in the last run and skip of each runbook and the local time; a skip (a
//! precondition failed) is tried again an hour later, not every tick.

use crate::core::time::Ts;
use serde::Serialize;
use std::time::Duration;

/// After a skip, the next try waits this long (still inside the window).
pub const RETRY_AFTER_SKIP: Duration = Duration::from_secs(3600);

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Days of the week (Monday first) and a time of day range, in the local time of the
/// machine Lifeboat runs on: `Mon-Fri 10:00-16:00`, `Sat,Sun 08:00-20:00`,
/// `daily 09:00-17:00`, or `any`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub days: [bool; 7],
    /// Minutes since midnight: from (inclusive) to (exclusive); 24:00 is 1440.
    pub from: u16,
    pub to: u16,
}

impl Window {
    pub fn any() -> Window {
        Window {
            days: [true; 7],
            from: 0,
            to: 24 * 60,
        }
    }

    /// Reads a window; the error says what is wrong with which part.
    pub fn parse(text: &str) -> Result<Window, String> {
        let t = text.trim().to_ascii_lowercase();
        if t == "any" || t == "always" {
            return Ok(Window::any());
        }
        let (days, hours) = t.split_once(' ').ok_or_else(|| {
            format!(
                "{text:?} has no time range: write days and hours, like \"Mon-Fri 10:00-16:00\""
            )
        })?;
        let mut w = Window {
            days: [false; 7],
            from: 0,
            to: 0,
        };
        if days == "daily" {
            w.days = [true; 7];
        } else {
            for part in days.split(',') {
                let day = |d: &str| {
                    DAYS.iter()
                        .position(|x| d.starts_with(x) && x.len() <= d.len())
                        .filter(|_| d.len() <= 9)
                        .ok_or_else(|| {
                            format!("{d:?} is not a day: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
                        })
                };
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day(a.trim())?, day(b.trim())?);
                        if a > b {
                            return Err(format!(
                                "{part:?} runs backwards: write the earlier day first (Mon-Fri)"
                            ));
                        }
                        (a..=b).for_each(|i| w.days[i] = true);
                    }
                    None => w.days[day(part.trim())?] = true,
                }
            }
        }
        let (a, b) = hours
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("{hours:?} is not a time range: write it as 10:00-16:00"))?;
        w.from = minute(a)?;
        w.to = minute(b)?;
        if w.from >= w.to {
            return Err(format!(
                "{hours:?} ends before it starts: a window stays inside one day (22:00-24:00 and 00:00-06:00 are two entries)"
            ));
        }
        Ok(w)
    }

    /// Whether `weekday` (0 = Monday) at `minute` (since midnight) is inside.
    pub fn contains(&self, weekday: usize, minute: u16) -> bool {
        self.days.get(weekday).copied().unwrap_or(false) && minute >= self.from && minute < self.to
    }
}

fn minute(s: &str) -> Result<u16, String> {
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not a time: write HH:MM"))?;
    let (h, m) = match (h.parse::<u16>(), m.parse::<u16>()) {
        (Ok(h), Ok(m)) if m < 60 && (h < 24 || (h == 24 && m == 0)) => (h, m),
        _ => return Err(format!("{s:?} is not a time of day (00:00 to 24:00)")),
    };
    Ok(h * 60 + m)
}

/// One `[[drill]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    pub runbook: String,
    pub every: Duration,
    pub window: Window,
}

/// What the runtime knows of a runbook's past.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Past {
    /// When it last ran (by schedule or by hand).
    pub run: Option<Ts>,
    /// When the schedule last skipped it.
    pub skip: Option<Ts>,
}

/// Whether `s` is due at `now`, which is `weekday` (0 = Monday) at `minute` local time.
pub fn due(s: &Schedule, past: Past, now: Ts, weekday: usize, minute: u16) -> bool {
    if !s.window.contains(weekday, minute) {
        return false;
    }
    let ran_long_ago = past.run.is_none_or(|t| now.since(t) >= s.every);
    let not_just_skipped = past.skip.is_none_or(|t| now.since(t) >= RETRY_AFTER_SKIP);
    ran_long_ago && not_just_skipped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn windows_read_as_people_write_them_and_errors_say_what_to_write() {
        let w = Window::parse("Mon-Fri 10:00-16:00").unwrap();
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!((w.from, w.to), (600, 960));
        assert!(w.contains(0, 600) && w.contains(4, 959));
        assert!(!w.contains(0, 960) && !w.contains(5, 700) && !w.contains(2, 599));
        let w = Window::parse("sat,Sunday 00:00-24:00").unwrap();
        assert_eq!(w.days, [false, false, false, false, false, true, true]);
        assert_eq!(Window::parse("daily 09:00-17:30").unwrap().to, 17 * 60 + 30);
        assert_eq!(Window::parse("any").unwrap(), Window::any());
        for (bad, says) in [
            ("Mon-Fri", "no time range"),
            ("Fri-Mon 10:00-12:00", "backwards"),
            ("Mo 10:00-12:00", "not a day"),
            ("Mon 10-12", "not a time"),
            ("Mon 16:00-10:00", "ends before"),
            ("Mon 10:00-25:00", "not a time of day"),
            ("Mon 10:60-11:00", "not a time of day"),
        ] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn due_inside_the_window_once_every_period_and_an_hour_after_a_skip() {
        let day = Duration::from_secs(86_400);
        let s = Schedule {
            runbook: "restore-test".into(),
            every: 7 * day,
            window: Window::parse("Mon-Fri 10:00-16:00").unwrap(),
        };
        let now = Ts(100 * 86_400_000);
        let never = Past::default();
        assert!(due(&s, never, now, 1, 11 * 60));
        assert!(!due(&s, never, now, 5, 11 * 60), "Saturday");
        assert!(!due(&s, never, now, 1, 9 * 60), "before the window");
        let ran = |days_ago: u64| Past {
            run: Some(Ts(now.0 - days_ago * 86_400_000)),
            skip: None,
        };
        assert!(!due(&s, ran(6), now, 1, 11 * 60));
        assert!(due(&s, ran(7), now, 1, 11 * 60));
        let skipped = |mins_ago: u64| Past {
            run: None,
            skip: Some(Ts(now.0 - mins_ago * 60_000)),
        };
        assert!(!due(&s, skipped(30), now, 1, 11 * 60));
        assert!(due(&s, skipped(60), now, 1, 11 * 60));
    }
}
