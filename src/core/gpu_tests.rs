//! Tests for GPU health classification and whole-host assessment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const IDLE_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/nvidia-smi/h100-idle.csv"
);

/// The real H100 idle sample, index set to `index`.
fn sample(index: u32) -> GpuSample {
    let text = std::fs::read_to_string(IDLE_CSV).unwrap();
    let GpuReadout::Gpus(mut samples) = parse_query_gpu(&text, 0) else {
        panic!("fixture did not parse");
    };
    let mut s = samples.remove(0);
    s.index = Some(index);
    s
}

fn degraded(h: GpuHealth) -> Vec<String> {
    match h {
        GpuHealth::Degraded(r) => r,
        other => panic!("expected Degraded, got {other:?}"),
    }
}

fn fatal(h: GpuHealth) -> Vec<String> {
    match h {
        GpuHealth::Fatal(r) => r,
        other => panic!("expected Fatal, got {other:?}"),
    }
}

/// Classify `sample(0)` changed by `edit`, with no previous sample.
fn classify_edited(under_load: bool, edit: impl FnOnce(&mut GpuSample)) -> GpuHealth {
    let mut s = sample(0);
    edit(&mut s);
    classify_sample(&s, None, under_load)
}

// ---- classify_sample ----

#[test]
fn fixture_sample_is_healthy_idle_or_loaded() {
    assert_eq!(classify_sample(&sample(0), None, false), GpuHealth::Healthy);
    assert_eq!(
        classify_sample(&sample(0), Some(&sample(0)), true),
        GpuHealth::Healthy
    );
}

/// A change to a sample, for table-driven tests.
type Edit = fn(&mut GpuSample);

#[test]
fn each_degraded_rule() {
    let cases: [(bool, &str, Edit); 10] = [
        (false, "thermal slowdown active", |s| {
            s.hw_thermal_slowdown = Some(true)
        }),
        (false, "thermal slowdown active", |s| {
            s.sw_thermal_slowdown = Some(true)
        }),
        (false, "power-brake slowdown active", |s| {
            s.hw_power_brake_slowdown = Some(true)
        }),
        (false, "hardware slowdown active", |s| {
            s.hw_slowdown = Some(true)
        }),
        (true, "PCIe link at gen 3 of 5 under load", |s| {
            s.pcie_gen_current = Some(3)
        }),
        (true, "PCIe link at x8 of x16 under load", |s| {
            s.pcie_width_current = Some(8)
        }),
        (
            false,
            "retired memory pages pending (a reset applies them)",
            |s| s.retired_pages_pending = Some(true),
        ),
        (
            false,
            "remapped memory rows pending (a reset applies them)",
            |s| s.remapped_rows_pending = Some(true),
        ),
        (false, "temperature 85 °C", |s| {
            s.temperature_gpu = Some(85.0)
        }),
        (false, "temperature 91 °C", |s| {
            s.temperature_gpu = Some(91.2)
        }),
    ];
    for (under_load, want, edit) in cases {
        let got = degraded(classify_edited(under_load, edit));
        assert_eq!(got, vec![format!("GPU 0: {want}")]);
    }
}

#[test]
fn near_misses_stay_healthy() {
    let cases: [Edit; 7] = [
        |s| s.temperature_gpu = Some(84.9),
        // HBM runs hotter; only the GPU temperature counts.
        |s| s.temperature_memory = Some(90.0),
        // Idle and power-cap events are normal.
        |s| s.clocks_event_reasons_active = Some(clock_event::IDLE | clock_event::SW_POWER_CAP),
        |s| s.sw_power_cap = Some(true),
        |s| s.gpu_recovery_action = Some(" none ".into()),
        |s| s.ecc_uncorrected_aggregate = Some(3),
        // Absent readings are not alarms.
        |s| {
            *s = GpuSample {
                index: Some(0),
                ..GpuSample::default()
            }
        },
    ];
    for edit in cases {
        assert_eq!(classify_edited(true, edit), GpuHealth::Healthy);
    }
}

#[test]
fn pcie_downgrade_only_counts_under_load() {
    let edit = |s: &mut GpuSample| {
        s.pcie_gen_current = Some(1);
        s.pcie_width_current = Some(4);
    };
    assert_eq!(classify_edited(false, edit), GpuHealth::Healthy);
    assert_eq!(degraded(classify_edited(true, edit)).len(), 2);
}

#[test]
fn mask_bits_stand_in_for_absent_flags() {
    let thermal = classify_edited(false, |s| {
        s.hw_thermal_slowdown = None;
        s.clocks_event_reasons_active = Some(clock_event::IDLE | clock_event::HW_THERMAL_SLOWDOWN);
    });
    assert_eq!(
        degraded(thermal),
        vec!["GPU 0: thermal slowdown active".to_string()]
    );
    // An explicit "Not Active" column wins over the mask.
    let explicit = classify_edited(false, |s| {
        s.clocks_event_reasons_active = Some(clock_event::HW_POWER_BRAKE_SLOWDOWN);
    });
    assert_eq!(explicit, GpuHealth::Healthy);
    // hw_slowdown raised by thermal is said once, as thermal.
    let both = classify_edited(false, |s| {
        s.hw_slowdown = Some(true);
        s.hw_thermal_slowdown = Some(true);
    });
    assert_eq!(
        degraded(both),
        vec!["GPU 0: thermal slowdown active".to_string()]
    );
}

#[test]
fn corrected_ecc_rising_against_the_same_gpu() {
    let mut before = sample(0);
    before.ecc_corrected_volatile = Some(3);
    let mut now = sample(0);
    now.ecc_corrected_volatile = Some(5);
    assert_eq!(
        degraded(classify_sample(&now, Some(&before), false)),
        vec!["GPU 0: corrected ECC errors rising (from 3 to 5)".to_string()]
    );
    // Steady, first sample, or a different GPU behind the same index: not rising.
    assert_eq!(classify_sample(&now, Some(&now), false), GpuHealth::Healthy);
    assert_eq!(classify_sample(&now, None, false), GpuHealth::Healthy);
    before.uuid = Some("GPU-other".into());
    assert_eq!(
        classify_sample(&now, Some(&before), false),
        GpuHealth::Healthy
    );
}

#[test]
fn each_fatal_rule() {
    let cases: [(&str, Edit); 4] = [
        ("gpu_recovery_action is Reset", |s| {
            s.gpu_recovery_action = Some("Reset".into())
        }),
        ("gpu_recovery_action is Node Reboot", |s| {
            s.gpu_recovery_action = Some("Node Reboot".into())
        }),
        (
            "row remapping failed (memory can no longer be repaired)",
            |s| s.remapped_rows_failure = Some(true),
        ),
        ("2 uncorrected ECC error(s) since the driver loaded", |s| {
            s.ecc_uncorrected_volatile = Some(2)
        }),
    ];
    for (want, edit) in cases {
        let got = fatal(classify_edited(false, edit));
        assert_eq!(got, vec![format!("GPU 0: {want}")]);
    }
}

#[test]
fn fatal_outranks_degraded_and_labels_fall_back() {
    let h = classify_edited(true, |s| {
        s.index = None;
        s.temperature_gpu = Some(99.0);
        s.remapped_rows_failure = Some(true);
    });
    assert_eq!(
        fatal(h),
        vec![
            "GPU 00000000:00:06.0: row remapping failed (memory can no longer be repaired)"
                .to_string()
        ]
    );
}

// ---- assess ----

fn readout(samples: Vec<GpuSample>) -> GpuReadout {
    GpuReadout::Gpus(samples)
}

fn failed(exit_code: i32, failure: GpuFailure, message: &str) -> GpuReadout {
    let message = message.to_string();
    GpuReadout::Failed {
        exit_code,
        failure,
        message,
    }
}

#[test]
fn healthy_host() {
    let a = assess(&readout(vec![sample(0)]), 1, &[], &[], true);
    assert!(a.is_healthy() && !a.is_fatal(), "{a:?}");
    assert_eq!(a.per_gpu, vec![GpuHealth::Healthy]);
}

#[test]
fn fewer_gpus_than_expected_is_fatal() {
    let a = assess(&readout(vec![sample(0)]), 2, &[], &[], false);
    assert_eq!(
        a.fatal,
        vec!["only 1 of 2 GPUs visible: GPU 1 missing (fallen off the bus?)".to_string()]
    );
    let none = assess(&readout(vec![]), 1, &[], &[], false);
    assert_eq!(
        none.fatal,
        vec!["only 0 of 1 GPUs visible: GPU 0 missing (fallen off the bus?)".to_string()]
    );
    // The bus id from the previous probe names the lost GPU.
    let prev = vec![sample(0), sample(1)];
    let a = assess(&readout(vec![sample(0)]), 2, &prev, &[], false);
    let bus = prev[1].pci_bus_id.clone().unwrap_or_default();
    assert!(
        a.fatal[0].contains(&format!("GPU 1 ({bus})")),
        "{:?}",
        a.fatal
    );
}

#[test]
fn per_gpu_verdicts_and_previous_matched_by_index() {
    let mut hot = sample(1);
    hot.sw_thermal_slowdown = Some(true);
    hot.ecc_corrected_volatile = Some(7);
    let mut prev1 = sample(1);
    prev1.ecc_corrected_volatile = Some(6);
    let mut prev0 = sample(0);
    prev0.ecc_corrected_volatile = Some(9); // would be "falling" for GPU 0: ignored
    let a = assess(
        &readout(vec![sample(0), hot]),
        2,
        &[prev1, prev0],
        &[],
        false,
    );
    assert!(a.fatal.is_empty(), "{a:?}");
    assert_eq!(
        a.degraded,
        vec![
            "GPU 1: thermal slowdown active".to_string(),
            "GPU 1: corrected ECC errors rising (from 6 to 7)".to_string(),
        ]
    );
    assert_eq!(a.per_gpu.len(), 2);
    assert_eq!(a.per_gpu[0], GpuHealth::Healthy);
}

#[test]
fn one_fatal_gpu_makes_the_host_fatal() {
    let mut bad = sample(1);
    bad.gpu_recovery_action = Some("Reset".into());
    let a = assess(&readout(vec![sample(0), bad]), 2, &[], &[], false);
    assert_eq!(
        a.fatal,
        vec!["GPU 1: gpu_recovery_action is Reset".to_string()]
    );
}

#[test]
fn count_above_reported_is_degraded() {
    let mut s = sample(0);
    s.count = Some(2);
    let a = assess(&readout(vec![s]), 1, &[], &[], false);
    assert_eq!(
        a.degraded,
        vec!["nvidia-smi counts 2 GPUs but reported 1".to_string()]
    );
    assert!(a.fatal.is_empty());
}

#[test]
fn cpu_hosts_and_missing_gpus() {
    for r in [GpuReadout::NoDevices, GpuReadout::NotInstalled] {
        assert!(assess(&r, 0, &[], &[], false).is_healthy(), "{r:?}");
        let a = assess(&r, 4, &[], &[], false);
        assert_eq!(a.fatal.len(), 1, "{r:?}");
        assert!(a.fatal[0].contains("expected 4"), "{:?}", a.fatal);
    }
}

#[test]
fn failures_map_to_fatal_or_unreadable() {
    let fatal_ones = [
        GpuFailure::GpuLost,
        GpuFailure::ResetRequired,
        GpuFailure::DriverNotLoaded,
        GpuFailure::VersionMismatch,
        GpuFailure::CorruptInfoRom,
        GpuFailure::Timeout,
    ];
    for failure in fatal_ones {
        let r = failed(15, failure, "m");
        let a = assess(&r, 1, &[], &[], false);
        assert_eq!((a.fatal.len(), a.degraded.len()), (1, 0), "{failure:?}");
        // Even on a host said to be CPU-only, a broken driver is not fine.
        assert!(assess(&r, 0, &[], &[], false).is_fatal(), "{failure:?}");
    }
    for failure in [
        GpuFailure::Garbage,
        GpuFailure::InvalidArgument,
        GpuFailure::Other,
    ] {
        let r = failed(0, failure, "junk");
        let a = assess(&r, 1, &[], &[], false);
        assert!(a.fatal.is_empty(), "{failure:?}");
        assert_eq!(
            a.degraded,
            vec![format!("{} (exit 0: junk)", failure.describe())]
        );
    }
    let hung = failed(124, GpuFailure::Timeout, "");
    assert_eq!(
        assess(&hung, 1, &[], &[], false).fatal,
        vec!["nvidia-smi hung (timed out): driver likely wedged (exit 124)".to_string()]
    );
}

#[test]
fn xids_fatal_degraded_or_ignored() {
    let xids = [13, 79, 31, 79, 63, 43, 48];
    let a = assess(&readout(vec![sample(0)]), 1, &[], &xids, true);
    assert_eq!(
        a.fatal,
        vec![
            "Xid 79: GPU has fallen off the bus".to_string(),
            "Xid 48: double-bit ECC error".to_string(),
        ]
    );
    assert_eq!(a.degraded, vec![format!("Xid 63: {}", describe_xid(63))]);
    // Application Xids alone leave the host healthy.
    assert!(assess(&readout(vec![sample(0)]), 1, &[], &[13, 31, 43, 45], true).is_healthy());
}

#[test]
fn parsed_failures_end_to_end() {
    let lost = parse_query_gpu(
        "Unable to determine the device handle for GPU0000:0B:00.0: Unknown Error",
        15,
    );
    let a = assess(&lost, 1, &[], &[], false);
    assert!(
        a.fatal[0].starts_with("GPU lost (fallen off the bus) (exit 15: Unable to"),
        "{a:?}"
    );
    let garbage = parse_query_gpu("<html>502 Bad Gateway</html>", 0);
    let a = assess(&garbage, 1, &[], &[], false);
    assert!(!a.is_fatal() && a.degraded.len() == 1, "{a:?}");
}

#[test]
fn readouts_round_trip_through_serde() {
    for r in [
        readout(vec![sample(0), sample(1)]),
        GpuReadout::NoDevices,
        GpuReadout::NotInstalled,
        failed(15, GpuFailure::GpuLost, "x"),
    ] {
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<GpuReadout>(&json).unwrap(), r);
    }
    let a = assess(&readout(vec![sample(0)]), 2, &[], &[79], false);
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<GpuAssessment>(&json).unwrap(), a);
}
