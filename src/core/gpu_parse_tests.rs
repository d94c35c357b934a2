//! Tests for the nvidia-smi parsers, against the real H100 fixtures and synthetic failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::core::gpu::{GpuFailure, GpuReadout, GpuSample, QUERY_FIELDS, QUERY_FIELD_COUNT};
use std::collections::BTreeMap;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nvidia-smi");

fn fixture(name: &str) -> String {
    let path = format!("{FIXTURES}/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The fixture's one data line, without its newline.
fn idle_line() -> String {
    fixture("h100-idle.csv").trim().to_string()
}

fn with_index(line: &str, index: u32) -> String {
    let (_, rest) = line.split_once(',').unwrap();
    format!("{index},{rest}")
}

fn gpus(readout: GpuReadout) -> Vec<GpuSample> {
    match readout {
        GpuReadout::Gpus(s) => s,
        other => panic!("expected Gpus, got {other:?}"),
    }
}

fn failure(readout: &GpuReadout) -> (i32, GpuFailure, String) {
    match readout {
        GpuReadout::Failed {
            exit_code,
            failure,
            message,
        } => (*exit_code, *failure, message.clone()),
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn expected_idle_sample() -> GpuSample {
    GpuSample {
        index: Some(0),
        uuid: Some("GPU-3a4bf3b5-f6d5-6f6e-6ea6-9e95c4b58413".into()),
        pci_bus_id: Some("00000000:00:06.0".into()),
        name: Some("NVIDIA H100 80GB HBM3".into()),
        pstate: Some("P0".into()),
        utilization_gpu: Some(0.0),
        utilization_memory: Some(0.0),
        memory_used_mib: Some(0.0),
        memory_total_mib: Some(81559.0),
        temperature_gpu: Some(33.0),
        temperature_memory: Some(33.0),
        power_draw_w: Some(123.98),
        power_limit_w: Some(700.0),
        clocks_sm_mhz: Some(1980.0),
        clocks_event_reasons_active: Some(0x1),
        hw_slowdown: Some(false),
        hw_thermal_slowdown: Some(false),
        sw_thermal_slowdown: Some(false),
        hw_power_brake_slowdown: Some(false),
        sw_power_cap: Some(false),
        ecc_mode_enabled: Some(true),
        ecc_corrected_volatile: Some(0),
        ecc_uncorrected_volatile: Some(0),
        ecc_uncorrected_aggregate: Some(0),
        retired_pages_pending: None,
        remapped_rows_pending: Some(false),
        remapped_rows_failure: Some(false),
        pcie_gen_current: Some(5),
        pcie_gen_max: Some(5),
        pcie_width_current: Some(16),
        pcie_width_max: Some(16),
        gpu_recovery_action: Some("None".into()),
        count: Some(1),
        unreadable: Vec::new(),
    }
}

// ---- every fixture file ----

#[test]
fn every_fixture_file_is_tested_with_the_readme_exit_code() {
    let readme = fixture("README.md");
    let table: BTreeMap<String, i32> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let (file, code) = (cells.get(1)?, cells.get(3)?);
            Some((file.to_string(), code.parse().ok()?))
        })
        .collect();
    // The exit code each test below uses for each file.
    let ours: BTreeMap<String, i32> = [
        ("h100-idle.csv", 0),
        ("h100-idle-with-header.csv", 0),
        ("h100-compute-apps-load.csv", 0),
        ("h100-compute-apps-idle.csv", 0),
        ("h100-no-devices.txt", 6),
        ("h100-bad-field.txt", 2),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_string(), c))
    .collect();
    assert_eq!(table, ours, "README table vs the files these tests cover");
    let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = ours.keys().cloned().collect();
    covered.extend(["README.md".to_string(), "query-fields.txt".to_string()]);
    covered.sort();
    assert_eq!(on_disk, covered, "a fixture file has no test");
}

#[test]
fn query_fields_match_the_fixture() {
    assert_eq!(QUERY_FIELDS, fixture("query-fields.txt").trim());
    assert_eq!(QUERY_FIELDS.split(',').count(), QUERY_FIELD_COUNT);
}

#[test]
fn idle_fixture_parses_every_field() {
    let samples = gpus(parse_query_gpu(&fixture("h100-idle.csv"), 0));
    assert_eq!(samples, vec![expected_idle_sample()]);
}

#[test]
fn header_fixture_skips_header_and_strips_units() {
    let samples = gpus(parse_query_gpu(&fixture("h100-idle-with-header.csv"), 0));
    assert_eq!(samples, vec![expected_idle_sample()]);
}

#[test]
fn no_devices_fixture() {
    let text = fixture("h100-no-devices.txt");
    assert_eq!(parse_query_gpu(&text, 6), GpuReadout::NoDevices);
    // In an exit-0 run the line says so; otherwise the exit code decides, not the words.
    assert_eq!(parse_query_gpu(&text, 0), GpuReadout::NoDevices);
    assert_eq!(failure(&parse_query_gpu(&text, 255)).1, GpuFailure::Other);
}

#[test]
fn bad_field_fixture_is_invalid_argument() {
    let r = parse_query_gpu(&fixture("h100-bad-field.txt"), 2);
    let (code, failure, message) = failure(&r);
    assert_eq!((code, failure), (2, GpuFailure::InvalidArgument));
    assert!(message.contains("bogus.field"), "{message}");
}

#[test]
fn compute_apps_fixtures() {
    assert_eq!(
        parse_compute_apps(&fixture("h100-compute-apps-load.csv")),
        vec![ComputeApp {
            pid: 406,
            process_name: "python3".into(),
            used_memory_mib: Some(1002.0),
        }]
    );
    assert!(parse_compute_apps(&fixture("h100-compute-apps-idle.csv")).is_empty());
}

#[test]
fn compute_apps_tolerates_headers_units_and_odd_lines() {
    let text = "pid, process_name, used_gpu_memory [MiB]\n\
                12, /usr/bin/python3, 500 MiB\n\
                13, /opt/my, app/run, [N/A]\n\
                No running processes found\n\
                x, y, 1\n\
                14, train, lots\n";
    let apps = parse_compute_apps(text);
    assert_eq!(apps.len(), 2, "{apps:?}");
    assert_eq!(apps[0].used_memory_mib, Some(500.0));
    assert_eq!(apps[1].process_name, "/opt/my, app/run");
    assert_eq!(apps[1].used_memory_mib, None);
}

// ---- multi-GPU and line handling ----

#[test]
fn two_gpus_from_the_fixture_line() {
    let line = idle_line();
    let text = format!("{line}\n{}\n", with_index(&line, 1));
    let samples = gpus(parse_query_gpu(&text, 0));
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].index, Some(0));
    assert_eq!(samples[1].index, Some(1));
    assert_eq!(samples[1].uuid, samples[0].uuid);
    // CRLF endings and blank lines are fine.
    let crlf = format!("\r\n{line}\r\n\r\n{}\r\n", with_index(&line, 1));
    assert_eq!(gpus(parse_query_gpu(&crlf, 0)), samples);
}

#[test]
fn wrong_field_count_or_bad_value_is_garbage() {
    let line = idle_line();
    let short = line.rsplit_once(',').unwrap().0.to_string();
    let cases = [
        short.clone(),
        format!("{line}, extra"),
        format!("{line}\n{short}"),
        line.replacen("81559", "lots", 1),
        line.replacen("0x0000000000000001", "0xZZ", 1),
        line.replacen("Not Active", "Maybe", 1),
        "hello world".to_string(),
        String::new(),
        "   \n\n".to_string(),
    ];
    for text in cases {
        let (code, f, _) = failure(&parse_query_gpu(&text, 0));
        assert_eq!((code, f), (0, GpuFailure::Garbage), "{text:?}");
    }
}

#[test]
fn bracketed_or_empty_values_are_absent_not_zero() {
    let line = idle_line()
        .replacen(", 33, 33,", ", [N/A], [Not Supported],", 1)
        .replacen(", 123.98,", ", [Unknown Error],", 1)
        .replacen(", None, 1", ", , 1", 1);
    let s = gpus(parse_query_gpu(&line, 0)).remove(0);
    assert_eq!(s.temperature_gpu, None);
    assert_eq!(s.temperature_memory, None);
    assert_eq!(s.power_draw_w, None);
    assert_eq!(s.gpu_recovery_action, None);
    assert_eq!(s.memory_total_mib, Some(81559.0));
}

// ---- synthetic failures ----

const HANDLE_LOST: &str =
    "Unable to determine the device handle for GPU0000:0B:00.0: Unknown Error";

#[test]
fn exit_15_device_handle_is_gpu_lost() {
    let (code, f, message) = failure(&parse_query_gpu(HANDLE_LOST, 15));
    assert_eq!((code, f), (15, GpuFailure::GpuLost));
    assert_eq!(message, HANDLE_LOST);
    let (_, f, _) = failure(&parse_query_gpu("GPU is lost", 15));
    assert_eq!(f, GpuFailure::GpuLost);
    // Words alone decide nothing: under exit 255 it is "other error", words kept.
    let (_, f, message) = failure(&parse_query_gpu(HANDLE_LOST, 255));
    assert_eq!((f, message.as_str()), (GpuFailure::Other, HANDLE_LOST));
}

#[test]
fn device_handle_line_beside_a_good_line_means_a_lost_gpu() {
    // The survivors are reported; the lost GPU is missing, which `assess` makes fatal.
    let text = format!("{HANDLE_LOST}\n{}\n", with_index(&idle_line(), 1));
    let GpuReadout::Gpus(s) = parse_query_gpu(&text, 0) else {
        panic!("expected survivors")
    };
    assert_eq!(s.iter().map(|s| s.index).collect::<Vec<_>>(), vec![Some(1)]);
    let a = crate::core::gpu::assess(&GpuReadout::Gpus(s), 2, &[], &[], true);
    assert!(a.is_fatal(), "{a:?}");
    // Alone, the line is a failure of the whole probe, with the bus id kept.
    let (code, f, message) = failure(&parse_query_gpu(HANDLE_LOST, 0));
    assert_eq!((code, f), (0, GpuFailure::GpuLost));
    assert!(message.contains("0000:0B:00.0"), "{message}");
}

#[test]
fn bracketed_lost_or_reset_values_are_failures() {
    let lost = idle_line().replacen(", 33, 33,", ", [GPU is lost], 33,", 1);
    assert_eq!(failure(&parse_query_gpu(&lost, 0)).1, GpuFailure::GpuLost);
    let reset = idle_line().replacen(", None, 1", ", [GPU requires reset], 1", 1);
    assert_eq!(
        failure(&parse_query_gpu(&reset, 0)).1,
        GpuFailure::ResetRequired
    );
}

#[test]
fn exit_codes_map_to_failures() {
    let driver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. \
                  Make sure that the latest NVIDIA driver is installed and running.";
    let cases: [(&str, i32, GpuFailure); 10] = [
        (driver, 9, GpuFailure::DriverNotLoaded),
        // The exit code decides, not the words.
        (driver, 1, GpuFailure::Other),
        ("", 124, GpuFailure::Timeout),
        ("", 137, GpuFailure::Timeout),
        ("GPU requires reset", 16, GpuFailure::ResetRequired),
        (
            "Failed to initialize NVML: Driver/library version mismatch",
            18,
            GpuFailure::VersionMismatch,
        ),
        ("infoROM is corrupted", 14, GpuFailure::CorruptInfoRom),
        (
            "Field \"x\" is not a valid field to query.",
            2,
            GpuFailure::InvalidArgument,
        ),
        ("Segmentation fault", 139, GpuFailure::Other),
        ("", -1, GpuFailure::Other),
    ];
    for (text, code, want) in cases {
        assert_eq!(
            failure(&parse_query_gpu(text, code)),
            (code, want, brief(text)),
            "{text:?} {code}"
        );
    }
}

#[test]
fn command_not_found_is_not_installed() {
    assert_eq!(
        parse_query_gpu("bash: nvidia-smi: command not found", 127),
        GpuReadout::NotInstalled
    );
    // Only the shell's 127 says so; words under another code are an ordinary failure.
    assert_eq!(
        failure(&parse_query_gpu("nvidia-smi: command not found", 1)).1,
        GpuFailure::Other
    );
    assert_eq!(parse_query_gpu("", 127), GpuReadout::NotInstalled);
}

#[test]
fn corrupt_inforom_warning_with_exit_0_reads_as_garbage() {
    let text = format!(
        "WARNING: infoROM is corrupted at gpu 0000:0B:00.0\n{}",
        idle_line()
    );
    let (_, f, message) = failure(&parse_query_gpu(&text, 0));
    assert_eq!(f, GpuFailure::Garbage);
    assert!(message.contains("infoROM"), "{message}");
}

#[test]
fn ten_megabyte_line_is_garbage_with_a_short_message() {
    let huge = "x,".repeat(5 * 1024 * 1024);
    let (_, f, message) = failure(&parse_query_gpu(&huge, 0));
    assert_eq!(f, GpuFailure::Garbage);
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "{}",
        message.len()
    );
    let (_, f, message) = failure(&parse_query_gpu(&huge, 15));
    assert_eq!(f, GpuFailure::GpuLost);
    assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
    // Multi-byte text at the cut points must not split a character.
    let wide = "é".repeat(5 * 1024 * 1024);
    assert_eq!(failure(&parse_query_gpu(&wide, 0)).1, GpuFailure::Garbage);
    assert_eq!(
        failure(&parse_query_gpu(&wide, 3)).1,
        GpuFailure::NotSupported
    );
    assert!(parse_compute_apps(&huge).is_empty());
}

#[test]
fn many_short_lines_under_the_cap_still_parse() {
    let line = idle_line();
    let text: String = (0..64).map(|i| with_index(&line, i) + "\n").collect();
    assert_eq!(gpus(parse_query_gpu(&text, 0)).len(), 64);
}

// ---- never panics ----

proptest::proptest! {
    #[test]
    fn parse_query_gpu_never_panics(text in "\\PC*", code in proptest::num::i32::ANY) {
        let r = parse_query_gpu(&text, code);
        if let GpuReadout::Failed { message, .. } = r {
            proptest::prop_assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
        }
    }

    #[test]
    fn mangled_fixture_fields_never_panic(field in 0usize..QUERY_FIELD_COUNT, value in "[^,\n]{0,24}") {
        let line = idle_line();
        let mut fields: Vec<&str> = line.split(", ").collect();
        fields[field] = &value;
        match parse_query_gpu(&fields.join(", "), 0) {
            GpuReadout::Gpus(s) => proptest::prop_assert_eq!(s.len(), 1),
            GpuReadout::Failed { .. } | GpuReadout::NoDevices => {}
            other => proptest::prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn parse_compute_apps_never_panics(text in "\\PC*") {
        let _ = parse_compute_apps(&text);
    }
}
