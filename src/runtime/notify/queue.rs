//! One destination's delivery: `notify()` only puts the message on a bounded queue, and a
//! tokio task per destination sends it, retrying with backoff and keeping under the rate
//! limit. A slow or dead destination therefore never holds up a failover, nor the other
//! destinations.
//!
//! Over the rate limit, messages are held (not dropped) and go out as one summary when the
//! bucket has a token again (see `held`). A message that still fails after every attempt,
//! or that the destination refuses outright, is logged at error level (target "notify")
//! and dropped: there is nobody else to tell.

use super::held::Held;
use super::pace::{Backoff, Bucket, Rate};
use super::tally::{count, Fate};
use crate::core::io::Severity;
use crate::runtime::transport::Notifier;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A message on its way.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub severity: Severity,
    pub message: String,
    /// When `notify()` was called (not when it was finally sent).
    pub at: SystemTime,
}

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// The server took it, answering with this HTTP status.
    Delivered { status: u16 },
    /// Worth trying again; `after` is the wait the server asked for, if it named one.
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Trying again cannot help (bad token, unknown chat, malformed request).
    Permanent(String),
}

/// Somewhere a message can be sent, one HTTP request per attempt.
#[async_trait]
pub trait Destination: Send + Sync + 'static {
    /// Names it in logs and errors; never holds a secret.
    fn name(&self) -> &str;
    async fn send(&self, m: &Outgoing) -> Attempt;
}

/// How a destination's worker paces and retries. The defaults suit a real service; tests
/// shrink the waits.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Messages waiting before `notify()` refuses more.
    pub capacity: usize,
    /// Attempts per message, the first included.
    pub attempts: u32,
    pub backoff: Backoff,
    /// Longest wait a server's `Retry-After` / `retry_after` is obeyed for.
    pub max_retry_after: Duration,
    /// Deadline of one attempt, connect to last byte.
    pub timeout: Duration,
    pub rate: Rate,
}

impl Delivery {
    /// Telegram allows a bot about 20 messages a minute in one group.
    pub fn telegram() -> Self {
        Self {
            rate: Rate::per_minute(20),
            ..Self::webhook()
        }
    }

    pub fn webhook() -> Self {
        Self {
            capacity: 256,
            attempts: 5,
            backoff: Backoff {
                first: Duration::from_secs(1),
                max: Duration::from_secs(16),
            },
            max_retry_after: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
            rate: Rate::per_minute(60),
        }
    }
}

/// The sending half of one destination's queue.
pub struct Queue {
    name: String,
    capacity: usize,
    tx: mpsc::Sender<Outgoing>,
}

impl Queue {
    /// Starts the destination's worker on `rt`; it ends once the queue is dropped and what
    /// was queued has been sent.
    pub fn spawn(
        dest: Arc<dyn Destination>,
        delivery: Delivery,
        rt: &tokio::runtime::Handle,
    ) -> Self {
        let capacity = delivery.capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let name = dest.name().to_string();
        rt.spawn(run(dest, delivery, rx));
        Self { name, capacity, tx }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues without waiting; `Err` when the queue is full or the worker is gone.
    pub fn enqueue(&self, m: Outgoing) -> Result<(), String> {
        self.tx.try_send(m).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                count(&self.name, Fate::Dropped);
                format!(
                    "{}: {} notifications are already waiting; this one was dropped",
                    self.name, self.capacity
                )
            }
            mpsc::error::TrySendError::Closed(_) => {
                count(&self.name, Fate::Dropped);
                format!("{}: the delivery task has stopped", self.name)
            }
        })
    }
}

#[async_trait]
impl Notifier for Queue {
    async fn notify(&self, severity: Severity, message: &str) -> Result<(), String> {
        self.enqueue(Outgoing {
            severity,
            message: message.to_string(),
            at: SystemTime::now(),
        })
    }
}

async fn run(dest: Arc<dyn Destination>, d: Delivery, mut rx: mpsc::Receiver<Outgoing>) {
    let mut bucket = Bucket::new(d.rate, Instant::now());
    let mut held = Held::default();
    loop {
        let wake = (!held.is_empty()).then(|| Instant::now() + bucket.wait(Instant::now()));
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { break };
                // Behind held messages a new one waits its turn, so order is kept.
                if held.is_empty() && bucket.try_take(Instant::now()) {
                    deliver(&*dest, &d, m).await;
                } else {
                    held.push(m);
                    count(dest.name(), Fate::HeldRateLimit);
                    tracing::info!(
                        target: "notify",
                        "{}: rate limit reached, {} notification(s) held back",
                        dest.name(),
                        held.len()
                    );
                }
            }
            () = sleep_until(wake) => {
                if bucket.try_take(Instant::now()) {
                    if let Some(m) = held.take() {
                        deliver(&*dest, &d, m).await;
                    }
                }
            }
        }
    }
    // The notifier was dropped (the console is stopping): what is held goes out now.
    if let Some(m) = held.take() {
        deliver(&*dest, &d, m).await;
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Sends `m`, retrying as `d` says; the outcome is logged, never returned.
async fn deliver(dest: &dyn Destination, d: &Delivery, m: Outgoing) {
    let name = dest.name();
    let attempts = d.attempts.max(1);
    for attempt in 1..=attempts {
        let outcome = match tokio::time::timeout(d.timeout, dest.send(&m)).await {
            Ok(a) => a,
            Err(_) => Attempt::Retry {
                after: None,
                why: format!("no answer within {:?}", d.timeout),
            },
        };
        match outcome {
            Attempt::Delivered { status } => {
                count(name, Fate::Sent);
                tracing::info!(target: "notify", "{name}: delivered ({:?}, attempt {attempt}, HTTP {status})", m.severity);
                return;
            }
            Attempt::Permanent(why) => {
                count(name, Fate::Failed);
                tracing::error!(target: "notify", "{name}: notification not delivered, and not retried: {why}");
                return;
            }
            Attempt::Retry { why, .. } if attempt == attempts => {
                count(name, Fate::Failed);
                tracing::error!(target: "notify", "{name}: notification not delivered after {attempts} attempts; last: {why}");
                return;
            }
            Attempt::Retry { after, why } => {
                let wait = d.backoff.after(attempt, after, d.max_retry_after);
                tracing::warn!(target: "notify", "{name}: attempt {attempt} of {attempts} failed ({why}); retrying in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script, then `Delivered`; records when each attempt came.
    struct Scripted {
        script: Mutex<Vec<Attempt>>,
        seen: Mutex<Vec<(Instant, String)>>,
    }

    impl Scripted {
        fn new(mut script: Vec<Attempt>) -> Arc<Self> {
            script.reverse();
            Arc::new(Self {
                script: Mutex::new(script),
                seen: Mutex::new(Vec::new()),
            })
        }
        fn seen(&self) -> Vec<(Instant, String)> {
            self.seen.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Destination for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn send(&self, m: &Outgoing) -> Attempt {
            self.seen
                .lock()
                .unwrap()
                .push((Instant::now(), m.message.clone()));
            self.script
                .lock()
                .unwrap()
                .pop()
                .unwrap_or(Attempt::Delivered { status: 200 })
        }
    }

    fn fast() -> Delivery {
        Delivery {
            attempts: 4,
            backoff: Backoff {
                first: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
            rate: Rate::UNLIMITED,
            ..Delivery::webhook()
        }
    }

    fn retry(after: Option<u64>) -> Attempt {
        Attempt::Retry {
            after: after.map(Duration::from_secs),
            why: "HTTP 500".into(),
        }
    }

    fn msg(text: &str) -> Outgoing {
        Outgoing {
            severity: Severity::Warning,
            message: text.into(),
            at: SystemTime::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_exponentially_and_obey_the_server() {
        let dest = Scripted::new(vec![retry(None), retry(None), retry(Some(30))]);
        deliver(&*dest, &fast(), msg("x")).await;
        let t: Vec<Instant> = dest.seen().iter().map(|s| s.0).collect();
        let gaps: Vec<u64> = t.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(gaps, [1, 2, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_and_exhausted_attempts_stop() {
        let dest = Scripted::new(vec![Attempt::Permanent("HTTP 400".into())]);
        deliver(&*dest, &fast(), msg("x")).await;
        assert_eq!(dest.seen().len(), 1);
        let dest = Scripted::new(vec![retry(None); 10]);
        deliver(&*dest, &fast(), msg("x")).await;
        assert_eq!(dest.seen().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn over_the_rate_messages_are_held_then_summarised() {
        let dest = Scripted::new(vec![]);
        let d = Delivery {
            rate: Rate {
                burst: 2,
                per: Duration::from_secs(60),
            },
            ..fast()
        };
        let q = Queue::spawn(dest.clone(), d, &tokio::runtime::Handle::current());
        for i in 0..5 {
            q.notify(Severity::Info, &format!("m{i}")).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(29)).await;
        let texts: Vec<String> = dest.seen().into_iter().map(|s| s.1).collect();
        assert_eq!(texts, ["m0", "m1"]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let seen = dest.seen();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(
            seen[2].1,
            "3 more notifications held back by the rate limit:\n• m2\n• m3\n• m4"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_at_once() {
        struct Never;
        #[async_trait]
        impl Destination for Never {
            fn name(&self) -> &str {
                "never"
            }
            async fn send(&self, _: &Outgoing) -> Attempt {
                std::future::pending().await
            }
        }
        let d = Delivery {
            capacity: 2,
            ..fast()
        };
        let q = Queue::spawn(Arc::new(Never), d, &tokio::runtime::Handle::current());
        let results: Vec<bool> = {
            let mut r = Vec::new();
            for _ in 0..5 {
                r.push(q.enqueue(msg("x")).is_ok());
                tokio::task::yield_now().await;
            }
            r
        };
        // One in flight, two waiting, then refusals naming the destination.
        assert_eq!(results, [true, true, true, false, false]);
        let e = q.enqueue(msg("x")).unwrap_err();
        assert!(
            e.starts_with("never: 2 notifications are already waiting"),
            "{e}"
        );
    }
}
