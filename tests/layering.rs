//! The layers stay one-way (DESIGN.md): the console draws and asks through the neutral
//! protocol and never reaches into the runtime or the simulator; the core decides without
//! knowing any of the layers above it.

#![allow(clippy::expect_used)]

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).expect("source dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("source file");
            out.push((p.display().to_string(), text));
        }
    }
}

fn uses(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    let mut found = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_console_depends_on_the_protocol_not_on_the_runtime_or_the_simulator() {
    let found = uses("src/tui", &["crate::runtime", "crate::sim"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_core_knows_no_layer_above_it() {
    let found = uses(
        "src/core",
        &[
            "crate::runtime",
            "crate::sim",
            "crate::tui",
            "crate::protocol",
            "tokio::",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}
