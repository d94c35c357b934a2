#[test]
fn dump() {
    let hs = crate::tui::fixture::harness();
    let s = hs.core.snapshot();
    println!("{s:#?}");
    for e in &hs.events { println!("{:?}", crate::tui::fixture::event_line(e)); }
    println!("held {:?}", hs.held);
}
