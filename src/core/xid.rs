//! NVIDIA Xid codes: which are fatal, what the well-known ones mean, and how to find them
//! in kernel log lines (`NVRM: Xid (PCI:0000:0b:00): 79, pid=…, GPU has fallen off the bus.`).

use super::gpu_parse::prefix;

/// Lines longer than this are only searched in their first this-many bytes.
pub const MAX_XID_LINE_BYTES: usize = 1024;
/// At most this many Xids are returned from one text.
pub const MAX_XIDS: usize = 4096;

/// Xids after which the GPU needs a reset, a reboot or a replacement.
pub const FATAL_XIDS: [u32; 24] = [
    46, 48, 62, 64, 74, 79, 95, 110, 119, 120, 136, 140, 143, 144, 145, 146, 147, 148, 149, 150,
    155, 156, 158, 167,
];

/// Whether `xid` is one of [`FATAL_XIDS`].
pub fn is_fatal_xid(xid: u32) -> bool {
    FATAL_XIDS.contains(&xid)
}

/// Xids that report a fault in the application (bad address, killed process), not the GPU.
pub fn is_application_xid(xid: u32) -> bool {
    matches!(xid, 13 | 31 | 43 | 45)
}

/// A short description of a well-known Xid.
pub fn describe_xid(xid: u32) -> &'static str {
    match xid {
        8 => "GPU stopped processing (channel timeout)",
        13 => "graphics engine exception (application error)",
        31 => "GPU memory page fault (application error)",
        32 => "invalid or corrupted push buffer stream",
        38 => "driver firmware error",
        43 => "GPU stopped processing (application error)",
        45 => "preemptive cleanup after earlier errors",
        46 => "GPU stopped processing",
        48 => "double-bit ECC error",
        61 => "internal micro-controller breakpoint/warning",
        62 => "internal micro-controller halt",
        63 => "ECC page retirement or row remapping recorded",
        64 => "ECC page retirement or row remapping failed",
        68 => "video processor exception",
        69 => "graphics engine class error",
        74 => "NVLink error",
        79 => "GPU has fallen off the bus",
        92 => "high single-bit ECC error rate",
        94 => "contained ECC error",
        95 => "uncontained ECC error",
        109 => "context switch timeout",
        110 => "security fault",
        119 => "GSP error (RPC timeout)",
        120 => "GSP error",
        121 => "C2C link corrected error",
        140 => "unrecovered ECC error",
        143 => "GPU initialization failure",
        144..=150 => "NVLink error",
        154 => "GPU recovery action changed",
        155 => "NVLink error (software-defined)",
        156 => "resource retirement event",
        158 => "GPU fatal timeout",
        x if is_fatal_xid(x) => "fatal GPU error (see NVIDIA's Xid catalog)",
        _ => "unrecognised Xid (see NVIDIA's Xid catalog)",
    }
}

/// Parse kernel log lines into Xid codes, in order (repeats kept, at most [`MAX_XIDS`]).
/// Lines that don't match are ignored, `SXid` (NVSwitch) lines included; never panics.
pub fn parse_xid_lines(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_XIDS {
            break;
        }
        if let Some(xid) = xid_in_line(prefix(line, MAX_XID_LINE_BYTES)) {
            out.push(xid);
        }
    }
    out
}

/// The code in `… Xid (PCI:0000:0b:00): 79, …`, if this line has one.
fn xid_in_line(line: &str) -> Option<u32> {
    let mut from = 0;
    while let Some(found) = line.get(from..).and_then(|rest| rest.find("Xid")) {
        let at = from + found;
        let after = line.get(at + 3..).unwrap_or_default();
        let glued = line
            .get(..at)
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !glued {
            if let Some(xid) = code_after(after) {
                return Some(xid);
            }
        }
        from = at + 3;
    }
    None
}

/// `" (PCI:0000:0b:00): 79, pid=…"` → 79.
fn code_after(s: &str) -> Option<u32> {
    let s = s.trim_start();
    let s = match s.strip_prefix('(') {
        Some(inner) => inner.get(inner.find(')')? + 1..)?,
        None => s,
    };
    let s = s.strip_prefix(':')?.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let digits = s.get(..end)?;
    let rest = s.get(end..).unwrap_or_default();
    let ends_well =
        rest.is_empty() || rest.starts_with(',') || rest.starts_with(char::is_whitespace);
    if digits.is_empty() || !ends_well {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const FATAL: &[u32] = &[
        46, 48, 62, 64, 74, 79, 95, 110, 119, 120, 136, 140, 143, 144, 145, 146, 147, 148, 149,
        150, 155, 156, 158, 167,
    ];

    #[test]
    fn every_listed_fatal_xid_is_fatal() {
        for &x in FATAL {
            assert!(is_fatal_xid(x), "Xid {x} should be fatal");
            assert!(
                !is_application_xid(x),
                "Xid {x} is not an application fault"
            );
            assert!(!describe_xid(x).starts_with("unrecognised"), "Xid {x}");
        }
    }

    #[test]
    fn nothing_else_below_300_is_fatal() {
        for x in 0..300 {
            assert_eq!(is_fatal_xid(x), FATAL.contains(&x), "Xid {x}");
        }
    }

    #[test]
    fn application_and_soft_xids_are_not_fatal() {
        for x in [13, 31, 43, 45, 63, 92, 94, 154, 0, u32::MAX] {
            assert!(!is_fatal_xid(x), "Xid {x}");
        }
        for x in [13, 31, 43] {
            assert!(is_application_xid(x));
            assert!(describe_xid(x).contains("application"));
        }
    }

    #[test]
    fn well_known_descriptions() {
        assert_eq!(describe_xid(79), "GPU has fallen off the bus");
        assert_eq!(describe_xid(48), "double-bit ECC error");
        assert_eq!(describe_xid(74), "NVLink error");
        assert_eq!(describe_xid(95), "uncontained ECC error");
        assert!(describe_xid(119).contains("GSP error"));
        assert!(describe_xid(120).contains("GSP error"));
        assert!(describe_xid(9999).starts_with("unrecognised"));
    }

    #[test]
    fn parses_real_looking_kernel_lines() {
        let log = "\
[1234.5] NVRM: Xid (PCI:0000:0b:00): 79, pid=1101234, name=nvc:[driver], GPU has fallen off the bus.
[1234.6] NVRM: GPU 0000:0b:00.0: GPU has fallen off the bus.
Jan 01 00:00:00 host kernel: NVRM: Xid (PCI:0000:65:00): 119, pid='<unknown>', name=<unknown>, Timeout waiting for RPC from GSP!
NVRM: Xid (0000:01:00): 13, Graphics Exception: ESR 0x404490=0x80000001
NVRM: Xid (PCI:0000:3b:00): 48, pid=77, DBE (double bit error) ECC error
NVRM: Xid (PCI:0000:3b:00): 63
nvidia-nvswitch0: SXid (PCI:0000:c3:00.0): 12028, Non-fatal, Link 20 egress non-posted PRIV error
random line mentioning Xid without a code
NVRM: Xid (PCI:0000:3b:00): 4x, not a number
NVRM: Xid (PCI:0000:3b:00: 79 unclosed
";
        assert_eq!(parse_xid_lines(log), vec![79, 119, 13, 48, 63]);
    }

    #[test]
    fn keeps_repeats_and_ignores_empty_text() {
        let one = "NVRM: Xid (PCI:0000:0b:00): 31, pid=1, name=python\n";
        assert_eq!(parse_xid_lines(&one.repeat(3)), vec![31, 31, 31]);
        assert!(parse_xid_lines("").is_empty());
        assert!(parse_xid_lines("Xid").is_empty());
        assert!(parse_xid_lines("Xid (").is_empty());
        assert!(parse_xid_lines("Xid (PCI:0000:0b:00): 99999999999999").is_empty());
    }

    #[test]
    fn huge_and_multibyte_input_is_bounded() {
        let long = format!("{}NVRM: Xid (PCI:0000:0b:00): 79,", "é".repeat(2_000_000));
        assert!(
            parse_xid_lines(&long).is_empty(),
            "code beyond the line cap"
        );
        let flood = "NVRM: Xid (PCI:0:0): 45,\n".repeat(MAX_XIDS + 10);
        assert_eq!(parse_xid_lines(&flood).len(), MAX_XIDS);
    }

    proptest::proptest! {
        #[test]
        fn parse_xid_lines_never_panics(s in "\\PC*") {
            let _ = parse_xid_lines(&s);
        }

        #[test]
        fn finds_any_code(code in 0u32..1_000_000, bus in "[0-9a-f:]{0,20}") {
            let line = format!("kernel: NVRM: Xid (PCI:{bus}): {code}, pid=1, name=x");
            proptest::prop_assert_eq!(parse_xid_lines(&line), vec![code]);
        }
    }
}
