use super::*;

const T: &str = "1796649014.431549842";

fn stat(m: &str, c: &str) -> FileStat {
    FileStat::parse(&format!("1024 {m} {c} 42 65024")).unwrap_or_else(|e| panic!("{e}"))
}

fn sealed() -> Seal {
    let f = stat(T, T);
    Seal::settled(vec![f.clone()], vec![f], "1796649016.000000001")
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gnu_stat_output_parses_with_nanoseconds_and_busybox_without() {
    let f = stat(T, "1796649015.5");
    assert_eq!(f.size, 1024);
    assert_eq!(f.mtime_ns, Some(1_796_649_014_431_549_842));
    assert_eq!(f.ctime_ns, Some(1_796_649_015_500_000_000));
    assert_eq!((f.inode, f.device), (42, 65024));
    let bb =
        FileStat::parse("1024 1796649014 1796649014 42 65024").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bb.mtime_ns, None);
    assert!(FileStat::parse("1024 x").is_err());
    assert!(FileStat::parse("big 1.1 1.1 1 1")
        .unwrap_err()
        .contains("size"));
}

#[test]
fn an_unchanged_copy_is_trusted_and_any_change_is_hashed() {
    let s = sealed();
    assert_eq!(s.judge(&[stat(T, T)], &[1024]), Trust::Sealed);
    let doubt = |now: FileStat, size: u64| match s.judge(&[now], &[size]) {
        Trust::Doubt(why) => why,
        Trust::Sealed => panic!("trusted a changed copy"),
    };
    assert!(doubt(stat(T, "1796649014.431549843"), 1024).contains("change time"));
    assert!(doubt(stat("1796649014.4", T), 1024).contains("modification time"));
    let mut moved = stat(T, T);
    moved.inode = 43;
    assert!(doubt(moved, 1024).contains("inode"));
    let mut grown = stat(T, T);
    grown.size = 2048;
    assert!(doubt(grown, 1024).contains("size"));
    assert!(
        doubt(stat(T, T), 999).contains("size"),
        "the manifest's size counts too"
    );
    assert!(matches!(s.judge(&[], &[]), Trust::Doubt(_)));
}

#[test]
fn no_seal_from_a_copy_that_changed_while_read_from_coarse_times_or_from_a_racy_moment() {
    let f = stat(T, T);
    let later = "1796649016.0";
    assert!(
        Seal::settled(vec![f.clone()], vec![stat(T, "1796649015.0")], later)
            .unwrap_err()
            .contains("changed while")
    );
    let bb =
        FileStat::parse("1024 1796649014 1796649014 42 65024").unwrap_or_else(|e| panic!("{e}"));
    assert!(Seal::settled(vec![bb.clone()], vec![bb], later)
        .unwrap_err()
        .contains("whole seconds"));
    assert!(
        Seal::settled(vec![f.clone()], vec![f.clone()], "1796649015.2")
            .unwrap_err()
            .contains("racy")
    );
    assert!(Seal::settled(vec![f.clone()], vec![f], "1796649016")
        .unwrap_err()
        .contains("fraction"));
}
