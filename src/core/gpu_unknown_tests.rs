//! A GPU whose readings are missing or nonsense is unknown with the reason, never healthy;
//! a failed nvidia-smi run is classified by its documented exit code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::core::gpu::{parse_query_gpu, FailureClass, GpuFailure, GpuReadout};

const IDLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/nvidia-smi/h100-idle.csv"
);

fn idle_fields() -> Vec<String> {
    let text = std::fs::read_to_string(IDLE).unwrap();
    text.trim().split(", ").map(str::to_string).collect()
}

/// The real idle line with field `i` set to `value`, judged as one GPU of one.
fn judged(i: usize, value: &str) -> (GpuHealth, GpuAssessment) {
    let mut f = idle_fields();
    f[i] = value.to_string();
    let readout = parse_query_gpu(&f.join(", "), 0);
    assert!(matches!(readout, GpuReadout::Gpus(_)), "{readout:?}");
    let a = assess(&readout, 1, &[], &[], true);
    (a.per_gpu[0].clone(), a)
}

fn unknown_because(i: usize, value: &str, why: &str) {
    let (health, a) = judged(i, value);
    match &health {
        GpuHealth::Unknown(r) => assert!(
            r.iter().any(|r| r.starts_with("GPU ") && r.contains(why)),
            "{value:?}: {r:?}"
        ),
        other => panic!("{value:?} in field {i}: expected unknown, got {other:?}"),
    }
    // The host shows the reason and is not healthy.
    assert!(!a.is_healthy(), "{value:?}");
    assert!(
        a.degraded.iter().any(|r| r.contains(why)),
        "{:?}",
        a.degraded
    );
}

#[test]
fn the_real_idle_h100_is_healthy() {
    let readout = parse_query_gpu(&std::fs::read_to_string(IDLE).unwrap(), 0);
    assert_eq!(
        assess(&readout, 1, &[], &[], false).per_gpu,
        [GpuHealth::Healthy]
    );
}

#[test]
fn bracketed_nvml_errors_make_the_gpu_unknown() {
    unknown_because(11, "[Unknown Error]", "power.draw read [Unknown Error]");
    unknown_because(5, "[Unknown Error]", "utilization.gpu read [Unknown Error]");
    unknown_because(
        21,
        "[Insufficient Permissions]",
        "read [Insufficient Permissions]",
    );
}

#[test]
fn a_required_reading_not_supported_or_missing_is_unknown() {
    unknown_because(9, "[Not Supported]", "temperature.gpu read [Not Supported]");
    unknown_because(8, "[N/A]", "memory.total read [N/A]");
    unknown_because(7, "", "memory.used missing");
    unknown_because(9, "N/A", "temperature.gpu missing");
    // An optional field this GPU does not have is simply absent.
    let (health, _) = judged(10, "[Not Supported]");
    assert_eq!(health, GpuHealth::Healthy);
    let (health, _) = judged(24, "[N/A]");
    assert_eq!(health, GpuHealth::Healthy);
}

#[test]
fn nan_infinite_negative_and_absurd_numbers_are_unknown() {
    unknown_because(5, "NaN", "utilization.gpu read NaN (impossible)");
    unknown_because(11, "inf", "power.draw read inf (impossible)");
    unknown_because(11, "-inf", "power.draw read -inf (impossible)");
    unknown_because(7, "-5", "memory.used read -5 (impossible)");
    unknown_because(9, "-40", "temperature.gpu read -40 (impossible)");
    unknown_because(
        22,
        "-1",
        "ecc.errors.uncorrected.volatile.total read -1 (impossible)",
    );
    unknown_because(0, "-1", "index read -1 (impossible)");
    unknown_because(9, "6553", "temperature.gpu read 6553 (impossible)");
    unknown_because(5, "250", "utilization.gpu read 250 (impossible)");
    unknown_because(11, "123456.0", "power.draw read 123456.0 (impossible)");
    unknown_because(
        8,
        "99999999999",
        "memory.total read 99999999999 (impossible)",
    );
    unknown_because(21, "18446744073709551616", "(impossible)");
    unknown_because(7, "90000", "more than memory.total");
}

#[test]
fn text_where_a_number_goes_is_still_garbage() {
    let mut f = idle_fields();
    f[7] = "lots".into();
    assert!(matches!(
        parse_query_gpu(&f.join(", "), 0),
        GpuReadout::Failed {
            failure: GpuFailure::Garbage,
            ..
        }
    ));
}

#[test]
fn a_fatal_reading_outranks_an_unknown_one() {
    let mut f = idle_fields();
    f[22] = "4".into();
    f[11] = "[Unknown Error]".into();
    let readout = parse_query_gpu(&f.join(", "), 0);
    let a = assess(&readout, 1, &[], &[], true);
    assert!(matches!(a.per_gpu[0], GpuHealth::Fatal(_)), "{a:?}");
}

#[test]
fn every_documented_exit_code_has_its_class() {
    use FailureClass::*;
    // nvidia-smi(1), RETURN VALUE, plus NVML's 16–18 and timeout's 124/137.
    let table: [(i32, GpuFailure, FailureClass); 18] = [
        (2, GpuFailure::InvalidArgument, OurQuery),
        (3, GpuFailure::NotSupported, OurQuery),
        (4, GpuFailure::NoPermission, HostSetup),
        (8, GpuFailure::InsufficientPower, GpuEvidence),
        (9, GpuFailure::DriverNotLoaded, HostSetup),
        (10, GpuFailure::IrqIssue, GpuEvidence),
        (12, GpuFailure::LibraryNotFound, HostSetup),
        (13, GpuFailure::FunctionNotFound, OurQuery),
        (14, GpuFailure::CorruptInfoRom, GpuEvidence),
        (15, GpuFailure::GpuLost, GpuEvidence),
        (16, GpuFailure::ResetRequired, GpuEvidence),
        (17, GpuFailure::BlockedByOs, HostSetup),
        (18, GpuFailure::VersionMismatch, HostSetup),
        (124, GpuFailure::Timeout, GpuEvidence),
        (137, GpuFailure::Timeout, GpuEvidence),
        (255, GpuFailure::Other, Transient),
        (1, GpuFailure::Other, Transient),
        (-1, GpuFailure::Other, Transient),
    ];
    for (code, failure, class) in table {
        // The words are the same for every code: only the code decides.
        let readout = parse_query_gpu("GPU is lost / driver not loaded / Unknown Error", code);
        let GpuReadout::Failed { failure: f, .. } = &readout else {
            panic!("{code}: {readout:?}");
        };
        assert_eq!((*f, f.class()), (failure, class), "exit {code}");
        // GPU evidence and host setup fail the host; the rest leave its GPUs unknown.
        let a = assess(&readout, 1, &[], &[], true);
        let fatal = matches!(class, GpuEvidence | HostSetup);
        assert_eq!(a.is_fatal(), fatal, "exit {code}: {a:?}");
        assert!(!a.is_healthy(), "exit {code}");
        let said = if fatal { &a.fatal } else { &a.degraded };
        assert!(
            said.iter().any(|r| r.contains(&format!("exit {code}"))),
            "{said:?}"
        );
    }
    assert_eq!(parse_query_gpu("anything", 6), GpuReadout::NoDevices);
    assert_eq!(parse_query_gpu("anything", 127), GpuReadout::NotInstalled);
}
