//! A drill's faults on a real fleet, made by the live world: scripts run on a host over
//! SSH (read back through their `@@` answer), a cut host waited for until it answers, and
//! the NAS taken away and given back on this machine (its dead-man lives in the state
//! dir, so it comes back even if Lifeboat dies).

use super::LiveWorld;
use crate::runtime::drill_nas;

impl LiveWorld {
    /// Lifts a drill's cut of `host`: its own firewall keeps Lifeboat out until the
    /// dead-man there lifts it (by `until`), so this asks again every 2 s until the host
    /// answers, and says so when it still does not a minute after that.
    pub(super) async fn heal_cut(&self, host: &str, until: Option<u64>) -> Result<String, String> {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let grace = Duration::from_secs(60);
        let give_up = until
            .map(|u| UNIX_EPOCH + Duration::from_secs(u) + grace)
            .unwrap_or_else(|| SystemTime::now() + grace);
        let t0 = std::time::Instant::now();
        loop {
            let tried = self
                .on_host_within(
                    host,
                    &crate::runtime::drill_faults::net_restore(),
                    Duration::from_secs(5),
                )
                .await;
            match tried {
                Ok(said) => {
                    return Ok(format!(
                        "{said} (after {:.0}s of waiting for it)",
                        t0.elapsed().as_secs_f64()
                    ))
                }
                Err(e) if SystemTime::now() > give_up => {
                    return Err(format!(
                        "{e}; the host still does not answer a minute after its dead-man was due to lift the cut: reach it another way and run `iptables -S INPUT | grep lifeboat-drill`"
                    ))
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        }
    }

    pub(super) async fn on_host(&self, host: &str, script: &str) -> Result<String, String> {
        self.on_host_within(host, script, std::time::Duration::from_secs(20))
            .await
    }

    /// Runs a drill's fault script on `host` and reads its answer.
    async fn on_host_within(
        &self,
        host: &str,
        script: &str,
        within: std::time::Duration,
    ) -> Result<String, String> {
        let spec = self
            .fleet
            .hosts
            .iter()
            .find(|h| h.id.as_str() == host)
            .ok_or_else(|| format!("no host named \"{host}\" in the fleet"))?;
        let out = self
            .shell
            .run(spec, script, within, 64 * 1024)
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        crate::runtime::drill_faults::said(&String::from_utf8_lossy(&out.stdout))
            .map(|s| format!("{host}: {s}"))
    }
}

impl LiveWorld {
    /// A spot preemption through the provider channel: `host`'s instance is stopped
    /// through its provider's API (the provider takes it, as a preemption would, and
    /// says so on its next poll), or started again (`take` false) by the rollback. No
    /// dead-man on a host can undo this: a supervisor that dies before the rollback
    /// leaves it to the next one, which runs the rollback from the in-flight record.
    pub(super) async fn preempt(&self, host: &str, take: bool) -> Result<String, String> {
        let spec = self
            .fleet
            .hosts
            .iter()
            .find(|h| h.id.as_str() == host)
            .ok_or_else(|| format!("no host named \"{host}\" in the fleet"))?;
        let Some(r) = &spec.provider else {
            return Err(format!(
                "{host} is no provider's instance: a spot preemption is made through the provider, so target a host with `provider = {{ provider = NAME, instance = ID }}`"
            ));
        };
        let p = self.provisioners.get(&r.provider).ok_or_else(|| {
            format!(
                "{host}'s provider \"{}\" is not configured ([[provider]])",
                r.provider
            )
        })?;
        let id = crate::runtime::provider::InstanceId::new(r.instance.clone());
        let limit = std::time::Duration::from_secs(20);
        let asked = match take {
            true => tokio::time::timeout(limit, p.stop(&id)).await,
            false => tokio::time::timeout(limit, p.start(&id)).await,
        };
        let verb = if take { "stop" } else { "start" };
        match asked {
            Ok(Ok(())) if take => Ok(format!(
                "{host}: instance {} stopped through {}, as a preemption takes it",
                r.instance, r.provider
            )),
            Ok(Ok(())) => Ok(format!(
                "{host}: instance {} started again through {}",
                r.instance, r.provider
            )),
            Ok(Err(e)) => Err(format!("{host}: {} could not {verb} instance {}: {e}", r.provider, r.instance)),
            Err(_) => Err(format!(
                "{host}: {} did not answer within {}s; whether instance {} was asked to {verb} is unknown",
                r.provider,
                limit.as_secs(),
                r.instance
            )),
        }
    }

    /// Runs `script` with this machine's `sh` (the NAS is reached from here).
    async fn here(&self, script: &str) -> Result<String, String> {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new("sh")
            .arg("-s")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run sh here: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .await
                .map_err(|e| format!("cannot feed sh: {e}"))?;
        }
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
                .await
                .map_err(|_| "sh did not answer within 30 s".to_string())?
                .map_err(|e| format!("sh: {e}"))?;
        drill_nas::said(&String::from_utf8_lossy(&out.stdout))
    }

    pub(super) fn nas_root(&self) -> Result<std::path::PathBuf, String> {
        self.replicas
            .as_ref()
            .and_then(|r| r.storage().nas.clone())
            .ok_or_else(|| "no NAS store is configured ([storage] nas)".to_string())
    }

    pub(super) async fn nas_lost(&self, duration: std::time::Duration) -> Result<String, String> {
        let root = self.nas_root()?;
        self.here(&drill_nas::lose(&root, &self.state_dir, duration)?)
            .await
    }

    pub(super) async fn nas_back(&self) -> Result<String, String> {
        let root = self.nas_root()?;
        self.here(&drill_nas::give_back(&root, &self.state_dir)?)
            .await
    }
}
