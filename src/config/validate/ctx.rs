//! The validation context: the source text for positions and the problems found so far.

use crate::config::error::Problem;
use crate::config::keypath::{self, KeyPath};
use crate::config::position::LineCol;
use std::ops::Range;
use toml::Spanned;
use toml_edit::Item;

pub struct Ctx<'a> {
    text: &'a str,
    root: &'a Item,
    problems: Vec<Problem>,
}

impl<'a> Ctx<'a> {
    pub fn new(text: &'a str, root: &'a Item) -> Self {
        Self {
            text,
            root,
            problems: Vec::new(),
        }
    }

    /// Records a problem at `span` (a byte range of the text), if known.
    pub fn report(
        &mut self,
        span: Option<Range<usize>>,
        key: &KeyPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem {
            at: span.map(|s| LineCol::of(self.text, s.start)),
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Records a problem at a spanned value.
    pub fn report_at<T>(
        &mut self,
        value: &Spanned<T>,
        key: &KeyPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.report(Some(value.span()), key, message, fix);
    }

    /// Records a problem at whatever `key` names in the document (a value or a table).
    pub fn report_path(
        &mut self,
        key: &KeyPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let span = keypath::span_at(self.root, key);
        self.report(span, key, message, fix);
    }

    /// Records a problem about `key`, which the document lacks, at the table that should
    /// hold it (`runbook.title` missing: at `[runbook]`).
    pub fn report_missing(
        &mut self,
        table: &KeyPath,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let span = keypath::span_at(self.root, table);
        self.report(span, &table.clone().key(key), message, fix);
    }

    /// Where a spanned value is, as `line N` for messages that point back at it.
    pub fn line_of<T>(&self, value: &Spanned<T>) -> usize {
        LineCol::of(self.text, value.span().start).line
    }

    /// The problems so far, in file order (file-level ones first).
    pub fn take_problems(&mut self) -> Vec<Problem> {
        let mut p = std::mem::take(&mut self.problems);
        p.sort_by_key(|p| p.at);
        p
    }
}
