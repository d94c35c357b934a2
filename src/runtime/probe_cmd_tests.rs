//! The `lifeboat probe` report from fixed probe output.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::core::probe_parse::MAGIC;

const GPU0: &str = "0, GPU-3a4bf3b5-f6d5-6f6e-6ea6-9e95c4b58413, 00000000:00:06.0, NVIDIA H100 80GB HBM3, P0, 0, 0, 0, 81559, 33, 33, 123.98, 700.00, 1980, 0x0000000000000001, Not Active, Not Active, Not Active, Not Active, Not Active, Enabled, 0, 0, 0, [N/A], No, No, 5, 5, 16, 16, None, 1";

fn probe(gpu_lines: &str, apps: &str, xid: &str) -> String {
    format!(
        "{MAGIC}\n@@boot 1234-abcd\n@@nvsmi 0\n{gpu_lines}\n@@apps 0\n{apps}\n@@xid\n{xid}@@end\n"
    )
}

#[test]
fn a_report_for_people_with_xids_and_their_meaning() {
    let text = probe(
        GPU0,
        "406, python3, 1002",
        "[  5.1] NVRM: Xid (PCI:0000:0b:00): 79, pid=1, GPU has fallen off the bus.\n[  6.0] NVRM: Xid (PCI:0000:0b:00): 13, pid=2, Graphics Exception\n",
    );
    let p = judge("gpu-box", &text, Ts(0), Duration::from_millis(42)).unwrap();
    let r = render(&p);
    assert!(
        r.starts_with("gpu-box (boot id 1234-abcd): probe took 42 ms\n"),
        "{r}"
    );
    assert!(
        r.contains("GPU 0  NVIDIA H100 80GB HBM3  00000000:00:06.0  healthy"),
        "{r}"
    );
    assert!(
        r.contains("memory 0/81559 MiB  temperature 33°C  power 123.98/700 W"),
        "{r}"
    );
    assert!(r.contains("pid 406      python3"), "{r}");
    assert!(
        r.contains("Xid lines in the kernel log (this boot): 2"),
        "{r}"
    );
    assert!(
        r.contains("Xid 79, fatal: GPU has fallen off the bus"),
        "{r}"
    );
    assert!(
        r.contains("Xid 13, application fault: graphics engine exception"),
        "{r}"
    );
    // The Xids count in the verdict (the old report passed none); application faults don't.
    assert!(
        r.contains("Verdict: FATAL: Xid 79: GPU has fallen off the bus\n"),
        "{r}"
    );
    assert!(
        !r.contains("Some(") && !r.contains("Gpus(") && !r.contains("[\""),
        "{r}"
    );
    let j = to_json(&p);
    assert_eq!(j["xids"][0]["xid"], 79);
    assert_eq!(j["xids"][0]["fatal"], true);
    assert_eq!(j["compute_apps"][0]["pid"], 406);
}

#[test]
fn no_gpus_and_failures_read_as_sentences() {
    let none = format!("{MAGIC}\n@@nvsmi 127\nsh: nvidia-smi: not found\n@@xid\n@@end\n");
    let r = render(&judge("cpu", &none, Ts(0), Duration::ZERO).unwrap());
    assert!(
        r.contains("GPUs: nvidia-smi is not installed (a CPU host)"),
        "{r}"
    );
    assert!(
        r.contains("Xid lines in the kernel log (this boot): none"),
        "{r}"
    );
    assert!(r.ends_with("Verdict: healthy\n"), "{r}");
    let hung = format!("{MAGIC}\n@@nvsmi 124\n\n@@xid\n@@end\n");
    let r = render(&judge("h", &hung, Ts(0), Duration::ZERO).unwrap());
    assert!(
        r.contains("GPUs: nvidia-smi hung (timed out): driver likely wedged (nvidia-smi exit 124)"),
        "{r}"
    );
    assert!(r.contains("Verdict: FATAL: nvidia-smi hung"), "{r}");
}

#[test]
fn what_the_machine_said_is_escaped() {
    let evil_gpu = GPU0.replace("NVIDIA H100 80GB HBM3", "H100\x1b]0;owned\x07\u{9b}2J");
    let text = probe(
        &evil_gpu,
        "406, py\x1b]52;c;cm0gLXJm\x07thon, 1002",
        "[1.0] NVRM: Xid (PCI:0000:0b:00): 79, \x1b[2Jwiped\n",
    );
    let p = judge("h\x1bX", &text, Ts(0), Duration::ZERO).unwrap();
    let r = render(&p);
    assert!(
        !r.contains('\x1b') && !r.contains('\x07') && !r.contains('\u{9b}'),
        "{r:?}"
    );
    assert!(r.contains("H100\\x1b]0;owned\\x07\\u{9b}2J"), "{r}");
    assert!(r.contains("py\\x1b]52;c;cm0gLXJm\\x07thon"), "{r}");
    assert!(r.contains("79, \\x1b[2Jwiped"), "{r}");
}
