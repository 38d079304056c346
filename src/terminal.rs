//! The one owner of raw mode and the alternate screen. Restores the terminal on
//! every exit path: drop, panic (hook), and signals (the runtime quits cleanly).

use std::io::{self, Write};

use crossterm::{cursor, event, execute, terminal};

pub struct TerminalGuard {
    active: bool,
}

fn restore() {
    let mut out = io::stdout();
    // Each step is attempted even if an earlier one fails.
    let _ = execute!(out, event::DisableMouseCapture);
    let _ = execute!(out, terminal::LeaveAlternateScreen);
    let _ = terminal::disable_raw_mode();
    let _ = execute!(out, cursor::Show);
    let _ = out.flush();
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            terminal::EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        Ok(Self { active: true })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.active {
            self.active = false;
            restore();
        }
    }
}

/// The board's output: after the first failed write (the terminal went away) every later
/// write is dropped and reported as done, so that clean-up on the way out (ratatui showing
/// the cursor on drop, flushing the buffer) cannot fail a second time or panic. The first
/// error reaches the caller, who stops drawing.
pub struct TtyWriter<W: Write> {
    inner: W,
    failed: bool,
}

impl<W: Write> TtyWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            failed: false,
        }
    }

    /// Whether a write has failed (the terminal is gone).
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn guard<T>(&mut self, r: io::Result<T>, dropped: T) -> io::Result<T> {
        match r {
            Err(e) if !self.failed => {
                self.failed = true;
                Err(e)
            }
            Err(_) => Ok(dropped),
            ok => ok,
        }
    }
}

impl<W: Write> Write for TtyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.guard(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.guard(r, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dead;
    impl Write for Dead {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(5))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(5))
        }
    }

    #[test]
    fn first_failure_is_reported_then_writes_are_dropped() {
        let mut w = TtyWriter::new(Dead);
        assert!(w.write_all(b"frame").is_err());
        assert!(w.failed());
        assert!(w.write_all(b"\x1b[?25h").is_ok());
        assert!(w.flush().is_ok());
    }
}
