//! Key paths such as `job "train".standby[1]`: how errors name a key, and how to find
//! the key at a byte offset (or the span of a key) in a parsed TOML document.

use std::fmt;
use std::ops::Range;
use toml_edit::{Item, Value};

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    /// An array element; `name` is set for tables with a unique `name` key.
    Elem {
        index: usize,
        name: Option<String>,
    },
}

/// A dotted path to a key, rendered `host "pc1".address` or `job[0].standby[1]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    /// A top-level key or table, e.g. `KeyPath::at("storage")`.
    pub fn at(key: &str) -> Self {
        Self::root().key(key)
    }

    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Seg::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Seg::Elem { index, name: None });
        self
    }

    pub fn named(mut self, index: usize, name: Option<&str>) -> Self {
        self.0.push(Seg::Elem {
            index,
            name: name.map(str::to_string),
        });
        self
    }

    /// The last key name, if the path ends in a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The key names only, dotted: `storage.s3`, `job` (for `job "x".standby[2]`… `job.standby`).
    pub fn schema_name(&self) -> String {
        self.0
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Elem { .. } => None,
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The path without its last step.
    pub fn parent(&self) -> KeyPath {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "\"{}\"", k.escape_default())?;
                    }
                }
                Seg::Elem {
                    name: Some(n),
                    index: _,
                } => write!(f, " \"{}\"", n.escape_default())?,
                Seg::Elem { index, name: None } => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_bare(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The deepest key in `doc` whose key or value covers byte `offset`, and its item.
pub fn path_at(root: &Item, offset: usize) -> (KeyPath, &Item) {
    let mut path = KeyPath::root();
    let mut item = root;
    'descend: loop {
        for (seg, child, key_span) in children(item) {
            if covers(key_span, offset) {
                // On a key itself (an unknown key, say): that key is the answer.
                path.0.push(seg);
                return (path, child);
            }
            if hits(child, offset) {
                path.0.push(seg);
                item = child;
                continue 'descend;
            }
        }
        return (path, item);
    }
}

/// The item at `path`, if the document has it.
pub fn item_at<'d>(root: &'d Item, path: &KeyPath) -> Option<&'d Item> {
    path.0.iter().try_fold(root, |item, seg| match seg {
        Seg::Key(k) => item.get(k.as_str()),
        Seg::Elem { index, .. } => item.get(*index),
    })
}

/// The byte span of the value (or table) at `path`.
pub fn span_at(root: &Item, path: &KeyPath) -> Option<Range<usize>> {
    item_at(root, path).and_then(first_span)
}

/// An item's span, or for an implicit table (`[a.b]` makes `a`), its first child's.
fn first_span(item: &Item) -> Option<Range<usize>> {
    item.span().or_else(|| {
        children(item)
            .into_iter()
            .find_map(|(_, c, _)| first_span(c))
    })
}

fn covers(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// Whether `item` or any child covers `offset`. Children matter even when the item has
/// a span: `[storage]`'s span ends before a later `[storage.s3]` header.
fn hits(item: &Item, offset: usize) -> bool {
    covers(item.span(), offset)
        || children(item)
            .into_iter()
            .any(|(_, c, k)| covers(k, offset) || hits(c, offset))
}

/// Direct children with their path step and, for keys, the key's own span.
fn children(item: &Item) -> Vec<(Seg, &Item, Option<Range<usize>>)> {
    let mut out = Vec::new();
    match item {
        Item::Table(t) => {
            for (k, _) in t.iter() {
                if let Some(c) = t.get(k) {
                    out.push((Seg::Key(k.into()), c, t.key(k).and_then(|k| k.span())));
                }
            }
        }
        Item::Value(Value::InlineTable(t)) => {
            for (k, _) in t.iter() {
                if let Some(c) = item.get(k) {
                    out.push((Seg::Key(k.into()), c, t.key(k).and_then(|k| k.span())));
                }
            }
        }
        Item::ArrayOfTables(a) => {
            let names: Vec<Option<&str>> = a
                .iter()
                .map(|t| t.get("name").and_then(Item::as_str))
                .collect();
            for (i, name) in names.iter().enumerate() {
                let unique = name.filter(|n| names.iter().filter(|m| **m == Some(n)).count() == 1);
                if let Some(c) = item.get(i) {
                    out.push((
                        Seg::Elem {
                            index: i,
                            name: unique.map(str::to_string),
                        },
                        c,
                        None,
                    ));
                }
            }
        }
        Item::Value(Value::Array(a)) => {
            for i in 0..a.len() {
                if let Some(c) = item.get(i) {
                    out.push((
                        Seg::Elem {
                            index: i,
                            name: None,
                        },
                        c,
                        None,
                    ));
                }
            }
        }
        Item::Value(_) | Item::None => {}
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use toml_edit::ImDocument;

    const DOC: &str = "[settings]\nprofile = \"lan\"\n\n[storage]\nnas = \"/n\"\n\n[[host]]\nname = \"pc1\"\nadress = \"x\"\n\n[[host]]\nname = \"pc2\"\n\n[storage.s3]\nbucket = \"b\"\n\n[[job]]\nname = \"j\"\nstandby = [\"a\", \"b\"]\nheartbeat = { fil = \"/x\" }\n";

    fn at(needle: &str) -> String {
        let doc = ImDocument::parse(DOC).unwrap();
        let offset = DOC.find(needle).unwrap();
        path_at(doc.as_item(), offset).0.to_string()
    }

    #[test]
    fn finds_the_key_under_an_offset() {
        assert_eq!(at("profile"), "settings.profile");
        assert_eq!(at("adress"), "host \"pc1\".adress");
        assert_eq!(at("[[host]]\nname = \"pc2\""), "host \"pc2\"");
        assert_eq!(at("bucket"), "storage.s3.bucket");
        assert_eq!(at("nas"), "storage.nas");
        assert_eq!(at("[storage.s3]"), "storage.s3");
        assert_eq!(at("\"b\"]"), "job \"j\".standby[1]");
        assert_eq!(at("fil ="), "job \"j\".heartbeat.fil");
    }

    #[test]
    fn finds_the_span_of_a_path() {
        let doc = ImDocument::parse(DOC).unwrap();
        let p = KeyPath::at("job").index(0).key("standby").index(1);
        let span = span_at(doc.as_item(), &p).unwrap();
        assert_eq!(&DOC[span], "\"b\"");
        let storage = span_at(doc.as_item(), &KeyPath::at("storage")).unwrap();
        assert!(DOC[storage].starts_with("[storage]\nnas"));
    }

    #[test]
    fn renders_paths() {
        let p = KeyPath::at("job")
            .named(0, Some("train"))
            .key("standby")
            .index(1);
        assert_eq!(p.to_string(), "job \"train\".standby[1]");
        assert_eq!(p.schema_name(), "job.standby");
        assert_eq!(KeyPath::at("a b").to_string(), "\"a b\"");
        assert_eq!(KeyPath::at("host").index(2).to_string(), "host[2]");
    }
}
