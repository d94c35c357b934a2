//! Messages the rate limit held back, and the one message that later stands for them all:
//! nothing is dropped silently, and a burst of alerts costs the chat one message, not fifty.

use super::queue::Outgoing;
use crate::core::io::Severity;

/// Messages quoted in a summary; later ones are only counted.
const QUOTED: usize = 10;
/// Characters kept of each quoted message.
const QUOTE_CHARS: usize = 300;

#[derive(Debug, Default)]
pub struct Held {
    kept: Vec<Outgoing>,
    count: usize,
    worst: Option<Severity>,
}

impl Held {
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn push(&mut self, m: Outgoing) {
        self.count += 1;
        self.worst = Some(match self.worst {
            Some(w) if rank(w) >= rank(m.severity) => w,
            _ => m.severity,
        });
        if self.kept.len() < QUOTED {
            self.kept.push(m);
        }
    }

    /// What to send for everything held: the message itself when only one was held, else a
    /// summary at the worst severity held. Empties the hold.
    pub fn take(&mut self) -> Option<Outgoing> {
        let count = std::mem::take(&mut self.count);
        let worst = self.worst.take();
        let mut kept = std::mem::take(&mut self.kept);
        if count <= 1 {
            return kept.pop();
        }
        let at = kept.first()?.at;
        let mut text = format!("{count} more notifications held back by the rate limit:");
        for m in &kept {
            text.push_str("\n• ");
            text.extend(m.message.chars().take(QUOTE_CHARS));
            if m.message.chars().count() > QUOTE_CHARS {
                text.push('…');
            }
        }
        if count > kept.len() {
            text.push_str(&format!("\n… and {} more", count - kept.len()));
        }
        Some(Outgoing {
            severity: worst.unwrap_or(Severity::Info),
            message: text,
            at,
        })
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn msg(severity: Severity, text: &str) -> Outgoing {
        Outgoing {
            severity,
            message: text.into(),
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn one_held_message_goes_out_as_itself() {
        let mut h = Held::default();
        assert!(h.take().is_none());
        h.push(msg(Severity::Warning, "pc1 suspect"));
        let m = h.take().unwrap();
        assert_eq!(
            (m.severity, m.message.as_str()),
            (Severity::Warning, "pc1 suspect")
        );
        assert!(h.is_empty() && h.take().is_none());
    }

    #[test]
    fn many_become_one_summary_at_the_worst_severity() {
        let mut h = Held::default();
        h.push(msg(Severity::Info, "a"));
        h.push(msg(Severity::Critical, "b"));
        h.push(msg(Severity::Warning, "c"));
        assert_eq!(h.len(), 3);
        let m = h.take().unwrap();
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(
            m.message,
            "3 more notifications held back by the rate limit:\n• a\n• b\n• c"
        );
        assert!(h.is_empty());
    }

    #[test]
    fn a_long_hold_is_counted_not_quoted() {
        let mut h = Held::default();
        for i in 0..25 {
            h.push(msg(Severity::Info, &format!("m{i} {}", "x".repeat(1000))));
        }
        let m = h.take().unwrap();
        assert!(m.message.starts_with("25 more notifications held back"));
        assert!(m.message.ends_with("… and 15 more"), "{}", m.message);
        assert!(
            m.message.chars().count() < 4000,
            "fits one Telegram message"
        );
    }
}
