//! A job's `[job.provision]` → [`ProvisionSpec`]: which `[[provider]]` to rent from, the
//! machine to search for (GPU, count, price, RAM, disk, reliability, regions) and what to
//! run on it (image, disk, volume). Values are checked here, not converted: the runtime's
//! `provider::criteria` builds the search from the spec.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{Float, Num, RawJob, RawProvision};
use crate::config::suggest;
use crate::config::{ProviderConfig, ProvisionSpec};
use std::collections::BTreeMap;

/// Vast refuses a smaller instance disk.
const MIN_DISK_GB: u32 = 8;
/// Above this a price is more likely a slip (cents for dollars) than a budget.
const MAX_PRICE: f64 = 1000.0;

/// The specs of the jobs that have a `provision` table, by job name.
pub fn build(
    ctx: &mut Ctx<'_>,
    jobs: &[RawJob],
    providers: &[ProviderConfig],
) -> BTreeMap<String, ProvisionSpec> {
    let names: Vec<&str> = jobs.iter().map(|j| j.name.get_ref().as_str()).collect();
    let labels = values::labels(&names);
    let mut out = BTreeMap::new();
    for (i, j) in jobs.iter().enumerate() {
        let Some(p) = &j.provision else { continue };
        let k = KeyPath::at("job").named(i, labels[i]).key("provision");
        let spec = spec(ctx, &k, p, providers);
        if j.strategies
            .as_ref()
            .is_some_and(|s| s.get_ref().iter().any(|s| s.get_ref() == "regional-volume"))
            && spec.volume.is_none()
        {
            ctx.report_path(
                &k,
                "strategy \"regional-volume\" is listed, but [job.provision] names no volume to attach",
                "add volume = \"NAME\" (a persistent volume the provider holds), or remove \"regional-volume\" from strategies",
            );
        }
        out.entry(j.name.get_ref().clone()).or_insert(spec);
    }
    out
}

fn spec(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    p: &RawProvision,
    providers: &[ProviderConfig],
) -> ProvisionSpec {
    provider(ctx, &k.clone().key("provider"), p, providers);
    if let Some(g) = &p.gpu_name {
        let v = g.get_ref();
        let ok = !v.trim().is_empty()
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'));
        if !ok {
            ctx.report_at(
                g,
                &k.clone().key("gpu_name"),
                format!("{} is not a GPU model name", quote(v)),
                "write the model as the provider lists it, e.g. gpu_name = \"RTX 4090\" (or \"RTX_4090\")",
            );
        }
    }
    let num_gpus = p.num_gpus.as_ref().map(|n| {
        in_range(ctx, &k.clone().key("num_gpus"), n, 1, 64, "num_gpus = 1");
        *n.get_ref()
    });
    let max_price = p.max_price.as_ref().map(|f| {
        let v = *f.get_ref();
        if !(v.is_finite() && v > 0.0 && v <= MAX_PRICE) {
            ctx.report_at(
                f,
                &k.clone().key("max_price"),
                format!("max_price = {v} is not a price in dollars per hour"),
                format!(
                    "give dollars per hour above 0 and at most {MAX_PRICE}, e.g. max_price = 1.5"
                ),
            );
        }
        v
    });
    let min_ram_gb = p.min_ram_gb.as_ref().map(|n| {
        in_range(
            ctx,
            &k.clone().key("min_ram_gb"),
            n,
            1,
            65_536,
            "min_ram_gb = 32",
        );
        *n.get_ref()
    });
    let min_disk_gb = p.min_disk_gb.as_ref().map(|n| {
        in_range(
            ctx,
            &k.clone().key("min_disk_gb"),
            n,
            1,
            1_000_000,
            "min_disk_gb = 100",
        );
        *n.get_ref()
    });
    let min_reliability = p
        .min_reliability
        .as_ref()
        .map(|f| fraction(ctx, &k.clone().key("min_reliability"), f));
    let regions = p
        .regions
        .as_ref()
        .map(|r| regions(ctx, &k.clone().key("regions"), r))
        .unwrap_or_default();
    let image = p.image.get_ref().clone();
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        ctx.report_at(
            &p.image,
            &k.clone().key("image"),
            format!("{} is not a container image name", quote(&image)),
            "name one image, no spaces, e.g. image = \"pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime\"",
        );
    }
    let disk_gb = match &p.disk_gb {
        Some(n) => {
            in_range(
                ctx,
                &k.clone().key("disk_gb"),
                n,
                MIN_DISK_GB,
                1_000_000,
                "disk_gb = 64",
            );
            *n.get_ref()
        }
        None => ProvisionSpec::DEFAULT_DISK_GB,
    };
    let volume = p.volume.as_ref().map(|v| {
        values::name(ctx, &k.clone().key("volume"), v, "volume");
        v.get_ref().clone()
    });
    let mount_path = match &p.mount_path {
        Some(m) => {
            let v = m.get_ref();
            if !v.starts_with('/') || v.trim_end_matches('/').is_empty() {
                ctx.report_at(
                    m,
                    &k.clone().key("mount_path"),
                    format!(
                        "{} is not an absolute directory inside the instance",
                        quote(v)
                    ),
                    "write a full path other than /, e.g. mount_path = \"/data\"",
                );
            }
            v.clone()
        }
        None => ProvisionSpec::DEFAULT_MOUNT_PATH.to_string(),
    };
    if let (Some(m), None) = (&p.mount_path, &volume) {
        ctx.report_at(
            m,
            &k.clone().key("mount_path"),
            "mount_path is set, but there is no volume to mount",
            "add volume = \"NAME\", or remove mount_path",
        );
    }
    ProvisionSpec {
        provider: p.provider.get_ref().clone(),
        gpu_name: p.gpu_name.as_ref().map(|g| g.get_ref().clone()),
        num_gpus,
        max_price,
        min_ram_gb,
        min_disk_gb,
        min_reliability,
        regions,
        image,
        disk_gb,
        volume,
        mount_path,
    }
}

fn provider(ctx: &mut Ctx<'_>, key: &KeyPath, p: &RawProvision, providers: &[ProviderConfig]) {
    let want = p.provider.get_ref();
    if providers.iter().any(|c| &c.name == want) {
        return;
    }
    let names: Vec<&str> = providers.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        ctx.report_at(
            &p.provider,
            key,
            format!("there is no [[provider]] named {} to rent from", quote(want)),
            format!(
                "add [[provider]] with name = {}, kind = \"vast\" and api_key_env = \"VAST_API_KEY\"",
                quote(want)
            ),
        );
    } else {
        ctx.report_at(
            &p.provider,
            key,
            format!(
                "unknown provider {}{}",
                quote(want),
                suggest::did_you_mean(want, &names)
            ),
            format!(
                "use the name of a [[provider]]: {}",
                suggest::quoted_list(&names)
            ),
        );
    }
}

fn in_range(ctx: &mut Ctx<'_>, key: &KeyPath, n: &Num, lo: u32, hi: u32, example: &str) {
    let v = *n.get_ref();
    if v < lo || v > hi {
        let name = key.last_key().unwrap_or("value");
        ctx.report_at(
            n,
            key,
            format!("{name} = {v} is outside {lo}..={hi}"),
            format!("give a number from {lo} to {hi}, e.g. {example}"),
        );
    }
}

fn fraction(ctx: &mut Ctx<'_>, key: &KeyPath, f: &Float) -> f64 {
    let v = *f.get_ref();
    if !(0.0..=1.0).contains(&v) {
        ctx.report_at(
            f,
            key,
            format!("min_reliability = {v} is not a score from 0 to 1"),
            "use a number from 0 to 1, e.g. min_reliability = 0.98",
        );
    }
    v
}

/// Two-letter country codes, as the provider's locations end ("Oslo, NO"); kept uppercase.
fn regions(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    list: &toml::Spanned<Vec<crate::config::raw::Str>>,
) -> Vec<String> {
    if list.get_ref().is_empty() {
        ctx.report_at(
            list,
            key,
            "regions is empty, so no machine could ever match",
            "list country codes, e.g. regions = [\"SE\", \"NO\"], or remove the key to search everywhere",
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, r) in list.get_ref().iter().enumerate() {
        let v = r.get_ref().trim();
        let key = key.clone().index(i);
        if v.len() != 2 || !v.chars().all(|c| c.is_ascii_alphabetic()) {
            ctx.report_at(
                r,
                &key,
                format!("{} is not a two-letter country code", quote(r.get_ref())),
                "use ISO country codes as the provider lists locations, e.g. regions = [\"SE\", \"NO\", \"DE\"]",
            );
            continue;
        }
        let code = v.to_ascii_uppercase();
        if out.contains(&code) {
            ctx.report_at(
                r,
                &key,
                format!("{} is listed twice", quote(&code)),
                "list each region once",
            );
            continue;
        }
        out.push(code);
    }
    out
}
