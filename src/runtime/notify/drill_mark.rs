//! Notifications while a drill runs: delivered as they are, marked as the drill's, or held
//! back (logged, not sent), as `[settings] drill_notifications` says. The drill sets the
//! flag while it runs; every notification the supervisor sends passes through here.

pub use crate::core::drill::DrillNotify;
use crate::core::io::Severity;
use crate::runtime::transport::Notifier;
use async_trait::async_trait;
use std::sync::{Arc, RwLock};

/// The runbook running now, if any; shared by the drill and the notifier.
#[derive(Clone, Debug, Default)]
pub struct DrillFlag(Arc<RwLock<Option<String>>>);

impl DrillFlag {
    pub fn set(&self, runbook: Option<String>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = runbook;
    }

    pub fn get(&self) -> Option<String> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A notifier that knows when a drill runs.
pub struct DrillAware {
    pub inner: Arc<dyn Notifier>,
    pub flag: DrillFlag,
    pub mode: DrillNotify,
}

#[async_trait]
impl Notifier for DrillAware {
    async fn notify(&self, severity: Severity, message: &str) -> Result<(), String> {
        match (self.flag.get(), self.mode) {
            (None, _) | (Some(_), DrillNotify::Deliver) => {
                self.inner.notify(severity, message).await
            }
            (Some(r), DrillNotify::Mark) => {
                self.inner
                    .notify(severity, &format!("[DRILL {r}] {message}"))
                    .await
            }
            (Some(r), DrillNotify::Hold) => {
                super::tally::count("all", super::tally::Fate::HeldDrill);
                tracing::info!("held during drill {r} (drill_notifications = \"hold\"): {message}");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Sent(Mutex<Vec<String>>);

    #[async_trait]
    impl Notifier for Sent {
        async fn notify(&self, _: Severity, message: &str) -> Result<(), String> {
            self.0.lock().unwrap().push(message.to_string());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_drills_notifications_are_delivered_marked_or_held_and_others_untouched() {
        for (mode, want) in [
            (DrillNotify::Deliver, vec!["real", "failover"]),
            (
                DrillNotify::Mark,
                vec!["real", "[DRILL job-crash] failover"],
            ),
            (DrillNotify::Hold, vec!["real"]),
        ] {
            let sent = Arc::new(Sent::default());
            let flag = DrillFlag::default();
            let n = DrillAware {
                inner: sent.clone(),
                flag: flag.clone(),
                mode,
            };
            n.notify(Severity::Critical, "real").await.unwrap();
            flag.set(Some("job-crash".into()));
            n.notify(Severity::Critical, "failover").await.unwrap();
            flag.set(None);
            assert_eq!(*sent.0.lock().unwrap(), want, "{mode:?}");
        }
        assert_eq!(DrillNotify::parse("hold"), Some(DrillNotify::Hold));
        assert_eq!(DrillNotify::parse("loud"), None);
    }
}
