//! `lifeboat config check --probe`: reaches S3 and every host once, each with a deadline,
//! through the same S3 store and SSH transport the console uses, and says how each went.
//! Nothing is written: S3 is listed, hosts run `true`.

use super::config_check::Finding;
use super::shell::Shell;
use super::store::{S3Store, Store};
use crate::config::Config;
use crate::core::fleet::{Access, HostSpec};
use crate::core::store_health::StoreFault;
use std::sync::Arc;
use std::time::Duration;

/// How long each probe may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Every probe's finding: S3 first, then the hosts in config order.
pub async fn probe(cfg: &Config, deadline: Duration) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(s3) = &cfg.storage.s3 {
        out.push(s3_probe(s3, deadline).await);
    }
    let ssh = super::ssh_shell(&cfg.fleet, &cfg.policy);
    let local: Arc<dyn Shell> = Arc::new(super::local::LocalShell);
    let hosts = cfg.fleet.hosts.iter().map(|h| {
        let shell = match h.access {
            Access::Local => Some(local.clone()),
            Access::Ssh => Some(ssh.clone()),
            Access::Simulated => None,
        };
        host_probe(h, shell, deadline)
    });
    out.extend(futures::future::join_all(hosts).await);
    out
}

async fn s3_probe(s3: &crate::config::S3Config, deadline: Duration) -> Finding {
    let what = format!("s3 s3://{}/{}", s3.bucket, s3.prefix);
    let reach = async {
        let store = S3Store::from_config(s3).await?;
        store.jobs().await
    };
    match tokio::time::timeout(deadline, reach).await {
        Ok(Ok(jobs)) => Finding::ok(what, format!("reached; {} job folder(s) there", jobs.len())),
        Ok(Err(e)) => {
            let kind = StoreFault::classify(&e.to_string());
            Finding::failed(what, format!("{kind}: {e}"))
        }
        Err(_) => Finding::failed(
            what,
            format!(
                "unreachable: no answer within {}s; check [storage.s3] endpoint and the network",
                deadline.as_secs()
            ),
        ),
    }
}

async fn host_probe(h: &HostSpec, shell: Option<Arc<dyn Shell>>, deadline: Duration) -> Finding {
    let what = format!("host {}", h.id);
    let Some(shell) = shell else {
        return Finding::ok(what, "simulated: nothing to reach");
    };
    let run = shell.run(h, "true\n", deadline, 1024);
    // The shell has its own limit; this one also covers connecting.
    match tokio::time::timeout(deadline + Duration::from_secs(1), run).await {
        Ok(Ok(o)) if o.exit == Some(0) => {
            Finding::ok(what, format!("answered at {}:{}", h.address, h.port))
        }
        Ok(Ok(o)) => Finding::failed(
            what,
            format!(
                "reached {}:{}, but `true` ended with {:?}: {}",
                h.address,
                h.port,
                o.exit,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        ),
        Ok(Err(e)) => Finding::failed(what, format!("{}:{}: {e}", h.address, h.port)),
        Err(_) => Finding::failed(
            what,
            format!(
                "{}:{}: no answer within {}s",
                h.address,
                h.port,
                deadline.as_secs()
            ),
        ),
    }
}
