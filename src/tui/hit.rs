//! Mouse hit-testing: which tab or table row a click lands on, from the same layout the
//! views draw with.

use super::action::View;

/// The tab labels as the header draws them, left to right from column 0.
pub fn tab_labels() -> Vec<(View, String)> {
    View::ALL.iter().enumerate().map(|(i, v)| (*v, format!(" {} {} ", i + 1, title(*v)))).collect()
}

fn title(v: View) -> &'static str {
    match v {
        View::Fleet => "Fleet",
        View::Jobs => "Jobs",
        View::Checkpoints => "Checkpoints",
        View::Tasks => "Tasks",
        View::Events => "Events",
    }
}

/// The tab under column `col` of the first line.
pub fn tab_at(col: u16) -> Option<View> {
    let mut x = 0u16;
    for (v, label) in tab_labels() {
        let w = label.chars().count() as u16;
        if col >= x && col < x + w {
            return Some(v);
        }
        x += w + 1;
    }
    None
}

/// The first screen line that holds a table row (after the header, the box and the
/// column titles).
pub const FIRST_ROW: u16 = 4;

/// The table row under screen line `row`, counted from the first row shown.
pub fn row_at(row: u16) -> Option<u16> {
    row.checked_sub(FIRST_ROW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_are_found_where_they_are_drawn() {
        assert_eq!(tab_at(0), Some(View::Fleet));
        let jobs_x = tab_labels()[0].1.chars().count() as u16 + 1;
        assert_eq!(tab_at(jobs_x), Some(View::Jobs));
        assert_eq!(tab_at(500), None);
        assert_eq!(row_at(FIRST_ROW), Some(0));
        assert_eq!(row_at(0), None);
    }
}
