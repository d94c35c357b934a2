//! Writing the CLI's output when the reader may leave early: `lifeboat status | head -1`
//! closes the pipe, and that is a normal end, not an error (Rust's `println!` would panic
//! with exit 101).

use std::io::{ErrorKind, Write};

/// Whether a write failed because the reader went away.
pub fn is_closed(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::BrokenPipe
}

/// `Ok(true)` written, `Ok(false)` the reader is gone (stop writing), `Err` anything else.
pub fn written(r: std::io::Result<()>) -> std::io::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if is_closed(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One message on stderr, never panicking (stderr may be the same closed pipe). Errors
/// quote hosts' own words, so control characters are escaped (see `core::safe_text`).
pub fn err_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", crate::core::safe_text::escape(line));
}

/// Writes `text` to stdout and flushes: `Ok` also when the reader left early.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    written(out.write_all(text.as_bytes()).and_then(|()| out.flush())).map(|_| ())
}

/// Stdout for a finite report: once the reader is gone, the rest is dropped quietly
/// and the work finishes as it would have.
#[derive(Default)]
pub struct Stdout {
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match std::io::stdout().lock().write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) if is_closed(&e) => {
                self.closed = true;
                Ok(buf.len())
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match std::io::stdout().lock().flush() {
            Err(e) if is_closed(&e) => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_pipe_counts_as_a_normal_end() {
        assert!(matches!(written(Ok(())), Ok(true)));
        let closed = std::io::Error::from(ErrorKind::BrokenPipe);
        assert!(matches!(written(Err(closed)), Ok(false)));
        let full = std::io::Error::from(ErrorKind::StorageFull);
        assert!(written(Err(full)).is_err());
    }
}
