//! Drills a supervisor stopped under (killed, crashed, the host rebooted): at the next
//! start their rollbacks run from the in-flight record, and the run is reported
//! "interrupted" — journaled like any drill's end.

use super::report::Report;
use super::rollback::Undo;
use crate::core::drill::engine::Status;
use crate::core::drill::runbook::Rollback;
use crate::core::identity::Identity;
use crate::protocol::notice::Notice;
use crate::runtime::clock::Clock;
use crate::runtime::service::world::World;
use crate::runtime::supervisor::Feed;
use std::borrow::Cow;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs what is left of the drills in flight in `state_dir` (`runs`, their records);
/// returns how many.
pub async fn recover(
    state_dir: std::path::PathBuf,
    runs: Vec<Report>,
    world: Arc<dyn World>,
    feed: mpsc::Sender<Feed>,
    clock: Clock,
) -> usize {
    let state_dir = state_dir.as_path();
    let by = Identity::daemon();
    for mut r in runs.iter().cloned() {
        let say = |what: &'static str, detail: String| Notice::Drill {
            ts: clock.now(),
            run: r.run.clone(),
            runbook: r.runbook.clone(),
            what: Cow::Borrowed(what),
            detail,
        };
        let undo = Undo {
            injected: &r.injected,
            scratch: r.scratch.as_ref(),
            corrupted: &r.corrupted,
            nas_lost: r.nas_lost,
            world: world.as_ref(),
            feed: &feed,
            by: &by,
        };
        let mut results = Vec::new();
        for name in &r.rollback_plan {
            let result = match Rollback::parse(name) {
                Some(action) => undo.run(action).await,
                None => Err(format!("\"{name}\" is not a rollback this build knows")),
            };
            let said = result.clone().unwrap_or_else(|e| format!("FAILED: {e}"));
            let _ = feed
                .send(Feed::Notice(say(
                    "rollback",
                    format!("{name}: {said} (after a restart)"),
                )))
                .await;
            results.push((name.clone(), result));
        }
        r.status = Status::Interrupted;
        r.why = format!(
            "the supervisor stopped under it (last seen {}); its rollbacks ran when the next one started",
            r.ended
        );
        r.ended = crate::core::time::rfc3339(clock.now());
        r.rollbacks = results;
        let at = match r.write(state_dir) {
            Ok(dir) => format!("; report in {}", dir.display()),
            Err(e) => format!("; the report could not be written: {e}"),
        };
        let _ = feed
            .send(Feed::Notice(say(
                "finished",
                format!("interrupted: {}{at}", r.why),
            )))
            .await;
    }
    runs.len()
}
