//! Parsing what Lifeboat's own probe printed on a real H100 (tests/fixtures/h100/).

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use lifeboat::core::gpu::{
    assess, classify_sample, parse_compute_apps, parse_query_gpu, GpuHealth, GpuReadout,
};
use lifeboat::core::probe_parse::parse_probe;
use lifeboat::core::time::Ts;
use std::time::Duration;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/h100/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

#[test]
fn under_load_the_power_cap_is_normal_and_the_gpu_healthy() {
    let GpuReadout::Gpus(g) = parse_query_gpu(&fixture("h100-load.csv"), 0) else {
        panic!("not parsed")
    };
    let s = &g[0];
    assert_eq!(s.utilization_gpu, Some(100.0));
    assert_eq!(s.power_draw_w, Some(697.78));
    assert_eq!(s.sw_power_cap, Some(true));
    assert_eq!(s.clocks_event_reasons_active, Some(0x4));
    assert_eq!(s.pcie_gen_current, Some(5));
    assert_eq!(classify_sample(s, None, true), GpuHealth::Healthy);
    let apps = parse_compute_apps(&fixture("h100-compute-apps-load-2.csv"));
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].used_memory_mib, Some(1222.0));
}

#[test]
fn whole_probes_from_the_h100_parse() {
    for (name, util) in [("probe-idle.txt", 0.0), ("probe-under-load.txt", 100.0)] {
        let (r, x) = parse_probe(&fixture(name), Ts(0), Duration::from_millis(70)).expect(name);
        let GpuReadout::Gpus(g) = &r.gpu else {
            panic!("{name}: {:?}", r.gpu)
        };
        assert_eq!(
            g[0].name.as_deref(),
            Some("NVIDIA H100 80GB HBM3"),
            "{name}"
        );
        assert_eq!(g[0].utilization_gpu, Some(util), "{name}");
        assert!(r.boot_id.is_some());
        assert!(x.xid_lines.is_empty());
        assert!(
            assess(&r.gpu, 1, &[], &[], util > 0.0).is_healthy(),
            "{name}"
        );
    }
    let idle = parse_query_gpu(&fixture("h100-idle-2.csv"), 0);
    assert!(matches!(idle, GpuReadout::Gpus(ref g) if g[0].temperature_gpu == Some(39.0)));
}
