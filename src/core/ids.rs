//! Newtype identifiers: hosts, jobs, operations and failover epochs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A host's configured name (unique in the fleet).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostId(pub String);

/// A job's configured name (unique in the fleet).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

/// Tags an effect and the input that answers it, so late answers to superseded
/// operations can be recognised and ignored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(pub u64);

/// A job's failover generation. Each failover starts a new epoch; a process
/// launched under an older epoch is stale and must be fenced.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u64);

impl HostId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl JobId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Epoch {
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}", self.0)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// Where a job can run: a host, and optionally one GPU on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub host: HostId,
    pub gpu: Option<u32>,
}

impl Target {
    pub fn new(host: HostId, gpu: Option<u32>) -> Self {
        Self { host, gpu }
    }

    /// `host`, `host:1` or `host:gpu1` (whether the host exists is the fleet's to say).
    pub fn parse(text: &str) -> Result<Target, String> {
        let (host, gpu) = match text.split_once(':') {
            Some((h, g)) => {
                let idx = g.trim_start_matches("gpu").parse::<u32>().map_err(|_| {
                    format!("\"{g}\" in \"{text}\" is not a GPU index; write HOST or HOST:0")
                })?;
                (h, Some(idx))
            }
            None => (text, None),
        };
        if host.is_empty() {
            return Err(format!("\"{text}\" names no host; write HOST or HOST:0"));
        }
        Ok(Target::new(HostId::new(host), gpu))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gpu {
            Some(g) => write!(f, "{}:gpu{}", self.host, g),
            None => write!(f, "{}", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_parses_with_or_without_its_gpu() {
        assert_eq!(Target::parse("b"), Ok(Target::new(HostId::new("b"), None)));
        assert_eq!(
            Target::parse("b:1"),
            Ok(Target::new(HostId::new("b"), Some(1)))
        );
        assert_eq!(
            Target::parse("b:gpu2"),
            Ok(Target::new(HostId::new("b"), Some(2)))
        );
        assert!(Target::parse("b:x").is_err_and(|e| e.contains("\"x\"")));
        assert!(Target::parse(":0").is_err());
    }
}
