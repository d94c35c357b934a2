//! The checkpoint bench's steps, one method each: pull host → NAS (and S3), NAS → S3,
//! restore NAS → host and SHA-256 of the NAS copy, each a set of cases for
//! `Bench::measure`, and the "by hand to both" row added up from their medians.

use super::measure::{case, median, Case, Kind, Row};
use super::rig::{file_size, ok, remove, sync, Bench};
use super::{s3, FILE, ID, JOB, PULL, TO_S3};
use lifeboat::core::inventory::CopyState;
use lifeboat::runtime::replica::transfer::{hash_in_store, to_stores, Meter, Source};
use lifeboat::runtime::store::{S3Store, Store};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::process::{Command, Stdio};

const SCP_AES: &str = "aes128-gcm@openssh.com";

impl Bench {
    /// One `discover` pass, checked: one checkpoint, the right hash, every copy verified.
    fn pull_once(&self, tag: &str, i: usize, order: &str, s3: bool) {
        let prefix = format!("{tag}-{i}");
        let rep = self.replicator(tag, &self.nas(tag, i), order, s3.then_some(prefix.as_str()));
        let got = self.rt.block_on(rep.discover(JOB, "h1", 1)).unwrap();
        assert_eq!(got.len(), 1, "{tag}: expected one checkpoint replicated");
        assert_eq!(got[0].files[0].sha256, self.sha, "{tag}: wrong hash");
        let entry = rep
            .catalogue
            .entries(Some(JOB))
            .unwrap()
            .into_iter()
            .find(|e| e.id == ID)
            .unwrap();
        let stores: &[&str] = if s3 { &["nas", "s3"] } else { &["nas"] };
        for s in stores {
            assert_eq!(
                entry.copy(s).map(|c| c.state),
                Some(CopyState::Verified),
                "{tag}: the {s} copy is not verified: {:?}",
                entry.copy(s).map(|c| c.detail.clone())
            );
        }
    }

    pub(crate) fn pull(&mut self) {
        let dest = |b: &Bench, i: usize| b.work.path().join(format!("pulled-{i}"));
        let check = move |b: &Bench, i: usize| {
            let d = dest(b, i);
            let f = if d.is_dir() { d.join(FILE) } else { d.clone() };
            assert_eq!(file_size(&f), b.size, "{} has the wrong size", f.display());
            remove(&d);
        };
        let mut cases = vec![
            Case {
                always: true,
                ..case(
                    "**Lifeboat** → NAS (SHA-256 while streaming, fsync, manifest)",
                    Kind::Lifeboat,
                    |b, i| b.pull_once("pull", i, "parallel", false),
                    |b, i| {
                        // The last one is kept: the restore, NAS → S3 and hashing rows read it.
                        if i + 1 < b.reps {
                            b.clean_nas("pull", i);
                        }
                    },
                )
            },
            case(
                "**Lifeboat** → NAS + S3, `order = \"parallel\"`",
                Kind::Lifeboat,
                |b, i| b.pull_once("par", i, "parallel", true),
                |b, i| {
                    b.clean_nas("par", i);
                    b.clean_s3(&format!("par-{i}"));
                },
            ),
            case(
                "**Lifeboat** → NAS, then S3 from the NAS, `order = \"nas-then-s3\"`",
                Kind::Lifeboat,
                |b, i| b.pull_once("seq", i, "nas-then-s3", true),
                |b, i| {
                    b.clean_nas("seq", i);
                    b.clean_s3(&format!("seq-{i}"));
                },
            ),
            case(
                "`scp` (default cipher)",
                Kind::Alternative,
                move |b, i| {
                    ok(&mut b.scp(None, &b.remote(&b.source()), dest(b, i).to_str().unwrap()))
                },
                check,
            ),
            case(
                format!("`scp -c {SCP_AES}`"),
                Kind::Alternative,
                move |b, i| {
                    ok(&mut b.scp(
                        Some(SCP_AES),
                        &b.remote(&b.source()),
                        dest(b, i).to_str().unwrap(),
                    ))
                },
                check,
            ),
        ];
        if self.rsync {
            cases.push(case(
                "`rsync -e ssh`",
                Kind::Alternative,
                move |b, i| {
                    let d = dest(b, i);
                    std::fs::create_dir_all(&d).unwrap();
                    let e = format!("ssh -p {} {}", b.host.port, b.ssh_opts().join(" "));
                    ok(Command::new("rsync")
                        .args(["-e", &e])
                        .arg(b.remote(&b.source()))
                        .arg(format!("{}/", d.display())));
                },
                check,
            ));
        }
        cases.push(case(
            format!("`scp -c {SCP_AES}`, then `openssl dgst -sha256` and `sync` (Lifeboat's checks by hand)"),
            Kind::Equivalent,
            move |b, i| {
                let d = dest(b, i);
                ok(&mut b.scp(Some(SCP_AES), &b.remote(&b.source()), d.to_str().unwrap()));
                ok(Command::new("openssl").args(["dgst", "-sha256"]).arg(&d));
                sync();
            },
            check,
        ));
        self.measure(PULL, cases);
    }

    /// Whether s3s-fs takes `aws s3 cp --checksum-algorithm SHA256`; a note if not.
    fn aws_sha256_works(&mut self) -> bool {
        let probe = self.work.path().join("probe.bin");
        std::fs::write(&probe, b"probe").unwrap();
        let url = format!("s3://{}/probe/{FILE}", s3::BUCKET);
        let out = self
            .aws(&[
                "s3",
                "cp",
                probe.to_str().unwrap(),
                &url,
                "--checksum-algorithm",
                "SHA256",
            ])
            .output()
            .unwrap();
        self.clean_s3("probe");
        if !out.status.success() {
            self.notes.push(format!(
                "`aws s3 cp --checksum-algorithm SHA256` failed against s3s-fs, so it is not measured: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        out.status.success()
    }

    pub(crate) fn nas_to_s3(&mut self) {
        let (nas, file) = self.nas_copy();
        let (nas, file) = (&nas, file.to_str().unwrap().to_string());
        let url = |tag: &str, i: usize| format!("s3://{}/{tag}-{i}/{FILE}", s3::BUCKET);
        let check = |tag: &'static str| {
            move |b: &Bench, i: usize| {
                assert_eq!(
                    file_size(&b.s3.object_file(&format!("{tag}-{i}/{FILE}"))),
                    b.size
                );
                b.clean_s3(&format!("{tag}-{i}"));
            }
        };
        let mut cases = vec![case(
            "**Lifeboat** `S3Store::put` fed by `NasStore::get` (SHA-256 per part and whole, HEAD check)",
            Kind::Lifeboat,
            move |b, i| {
                let s3 = S3Store::with_client(b.s3.client(), s3::BUCKET, format!("n2s-{i}"));
                let fan = b.rt.block_on(async {
                    let src = Source::Store {
                        store: nas,
                        job: JOB,
                        id: ID,
                        path: FILE,
                    };
                    to_stores(src, &[&s3 as &dyn Store], JOB, ID, FILE, b.size, &Meter::default()).await
                });
                fan.source.unwrap();
                let w = fan.written.into_iter().next().unwrap().unwrap();
                assert_eq!((w.bytes, w.sha256.as_str()), (b.size, b.sha.as_str()));
            },
            |b, i| {
                assert_eq!(file_size(&b.s3.object_file(&format!("n2s-{i}/{JOB}/{ID}/{FILE}"))), b.size);
                b.clean_s3(&format!("n2s-{i}"));
            },
        )];
        if self.aws {
            let f = file.clone();
            cases.push(case(
                "`aws s3 cp` (default)",
                Kind::Alternative,
                move |b, i| ok(&mut b.aws(&["s3", "cp", &f, &url("awsd", i)])),
                check("awsd"),
            ));
            if self.aws_sha256_works() {
                let f = file.clone();
                cases.push(case(
                    "`aws s3 cp --checksum-algorithm SHA256`",
                    Kind::Alternative,
                    move |b, i| {
                        ok(&mut b.aws(&[
                            "s3",
                            "cp",
                            &f,
                            &url("awss", i),
                            "--checksum-algorithm",
                            "SHA256",
                        ]))
                    },
                    check("awss"),
                ));
            }
        }
        self.measure(TO_S3, cases);
    }

    pub(crate) fn restore(&mut self) {
        let root = self.nas("pull", self.reps - 1);
        let (_, file) = self.nas_copy();
        let (root, file) = (&root, file.to_str().unwrap());
        let dest = |b: &Bench, tag: &str, i: usize| b.host.path("host").join(format!("{tag}-{i}"));
        let check = move |tag: &'static str, in_dir: bool| {
            move |b: &Bench, i: usize| {
                let d = dest(b, tag, i);
                let f = if in_dir { d.join(FILE) } else { d.clone() };
                assert_eq!(file_size(&f), b.size);
                remove(&d);
            }
        };
        let cases = vec![
            case(
                "**Lifeboat** `restore` (SHA-256 of the file on the host where it landed, atomic move, sync)",
                Kind::Lifeboat,
                move |b, i| {
                    // A fresh client over the same NAS and catalogue: its connection is timed too.
                    let rep = b.replicator("pull", root, "parallel", None);
                    let d = dest(b, "restored", i);
                    let r = b
                        .rt
                        .block_on(rep.restore(JOB, Some(ID), "h1", Some(d.to_str().unwrap())))
                        .unwrap();
                    assert_eq!((r.bytes, r.from.as_deref()), (b.size, Some("nas")));
                },
                check("restored", true),
            ),
            case(
                "`scp` (default cipher)",
                Kind::Alternative,
                move |b, i| ok(&mut b.scp(None, file, &b.remote(&dest(b, "scpd", i)))),
                check("scpd", false),
            ),
            case(
                format!("`scp -c {SCP_AES}`"),
                Kind::Alternative,
                move |b, i| ok(&mut b.scp(Some(SCP_AES), file, &b.remote(&dest(b, "scpa", i)))),
                check("scpa", false),
            ),
            case(
                format!("`scp -c {SCP_AES}`, then `ssh host 'openssl dgst -sha256 … && sync'` (Lifeboat's checks by hand)"),
                Kind::Equivalent,
                move |b, i| {
                    let d = dest(b, "scpv", i);
                    ok(&mut b.scp(Some(SCP_AES), file, &b.remote(&d)));
                    ok(&mut b.ssh(&format!("openssl dgst -sha256 {} && sync", d.display())));
                },
                check("scpv", false),
            ),
        ];
        self.measure("Restore NAS → host", cases);
    }

    pub(crate) fn hashing(&mut self) {
        let (nas, file) = self.nas_copy();
        let (nas, file) = (&nas, &file);
        // Warm the page cache, as every earlier row already read the file from it.
        ok(Command::new("cat").arg(file).stdout(Stdio::null()));
        let none = |_: &Bench, _: usize| {};
        let cases = vec![
            case(
                "**Lifeboat** `sha2` over 1 MiB reads",
                Kind::Lifeboat,
                move |b, _| {
                    let mut f = std::fs::File::open(file).unwrap();
                    let mut buf = vec![0u8; 1 << 20];
                    let mut h = Sha256::new();
                    loop {
                        let n = f.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                    assert_eq!(lifeboat::core::manifest::hex(&h.finalize()), b.sha);
                },
                none,
            ),
            case(
                "**Lifeboat** `NasStore::get` + `transfer::hash_in_store` (scrub's path)",
                Kind::Lifeboat,
                move |b, _| {
                    let (n, sha) = b.rt.block_on(hash_in_store(nas, JOB, ID, FILE)).unwrap();
                    assert_eq!((n, sha.as_str()), (b.size, b.sha.as_str()));
                },
                none,
            ),
            case(
                "`openssl dgst -sha256`",
                Kind::Alternative,
                move |_, _| ok(Command::new("openssl").args(["dgst", "-sha256"]).arg(file)),
                none,
            ),
            case(
                "`sha256sum`",
                Kind::Alternative,
                move |_, _| ok(Command::new("sha256sum").arg(file)),
                none,
            ),
        ];
        self.measure("SHA-256 of the NAS copy", cases);
    }

    /// What NAS + S3 costs by hand: the best pull alternative, then the best `aws s3 cp`
    /// (the sum of their medians), beside Lifeboat's NAS + S3 rows.
    pub(crate) fn by_hand_to_both(&mut self) {
        let best = |step: &str| {
            self.rows
                .iter()
                .filter(|r| r.step == step && r.kind == Kind::Alternative)
                .min_by(|a, b| a.median().total_cmp(&b.median()))
                .map(|r| {
                    let cpu = |f: fn(&(f64, f64)) -> f64| {
                        median(&r.cpu.iter().map(f).collect::<Vec<_>>())
                    };
                    (r.name.clone(), r.median(), cpu(|c| c.0), cpu(|c| c.1))
                })
        };
        let (Some(pull), Some(up)) = (best(PULL), best(TO_S3)) else {
            return;
        };
        self.rows.push(Row {
            step: PULL,
            name: format!(
                "{}, then {} (by hand to both: sum of the two medians)",
                pull.0, up.0
            ),
            kind: Kind::Equivalent,
            secs: vec![pull.1 + up.1],
            cpu: vec![(pull.2 + up.2, pull.3 + up.3)],
            derived: true,
        });
    }
}
