//! Byte offsets in a config file → 1-based line and column, as editors count them.

use std::fmt;

/// A place in the file: 1-based line, 1-based column counted in characters.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl LineCol {
    /// Where byte `offset` of `text` lies. Offsets past the end point just after the
    /// last character; offsets inside a multi-byte character count as that character.
    pub fn of(text: &str, offset: usize) -> Self {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        Self { line, col }
    }
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_columns_from_one() {
        let text = "a = 1\nbb = \"é\"\n";
        assert_eq!(LineCol::of(text, 0), LineCol { line: 1, col: 1 });
        assert_eq!(LineCol::of(text, 6), LineCol { line: 2, col: 1 });
        assert_eq!(LineCol::of(text, 9), LineCol { line: 2, col: 4 });
        // after the two-byte é
        assert_eq!(LineCol::of(text, 12), LineCol { line: 2, col: 7 });
        // inside the é
        assert_eq!(LineCol::of(text, 11), LineCol { line: 2, col: 6 });
        assert_eq!(LineCol::of(text, 999), LineCol { line: 3, col: 1 });
        assert_eq!(LineCol { line: 7, col: 1 }.to_string(), "7:1");
    }
}
