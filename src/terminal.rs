//! The one owner of raw mode and the alternate screen. Restores the terminal on
//! every exit path: drop, panic (hook), and signals (the runtime quits cleanly).

use std::io::{self, Write};

use crossterm::{cursor, event, execute, terminal};

/// Holds the terminal in raw mode on the alternate screen while the board runs; gives it
/// back when dropped. Made by [`TerminalGuard::enter`].
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
    /// Takes the terminal: raw mode, alternate screen, mouse capture, hidden cursor. A panic
    /// hook and `Drop` give it back.
    ///
    /// # Errors
    ///
    /// The I/O error when raw mode cannot be enabled or the alternate screen, mouse capture and
    /// hidden cursor cannot be set (the terminal is then restored).
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

impl TerminalGuard {
    /// Gives the terminal back for a command run from the board: main screen, cooked
    /// mode, cursor shown. [`TerminalGuard::resume`] takes it again.
    pub fn suspend(&mut self) {
        restore();
    }

    /// Takes the terminal again after [`TerminalGuard::suspend`].
    ///
    /// # Errors
    ///
    /// The I/O error when raw mode cannot be enabled or the alternate screen, mouse capture and
    /// hidden cursor cannot be set.
    pub fn resume(&mut self) -> io::Result<()> {
        terminal::enable_raw_mode()?;
        execute!(
            io::stdout(),
            terminal::EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        )
    }
}

/// Whether the board runs inside tmux (notifications then need its passthrough).
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// OSC 8: the following text is a hyperlink to `url` until [`HYPERLINK_END`]. `url` must
/// hold no control character (the links module makes sure of it).
pub fn hyperlink_start(url: &str) -> String {
    format!("\x1b]8;;{url}\x1b\\")
}

/// OSC 8: ends the hyperlink opened by [`hyperlink_start`].
pub const HYPERLINK_END: &str = "\x1b]8;;\x1b\\";

/// Pauses and resumes the input thread, so that a command run from the board reads the
/// keyboard alone.
pub struct InputControl {
    ctl: std::sync::mpsc::Sender<bool>,
    ack: std::sync::mpsc::Receiver<()>,
}

impl InputControl {
    /// Returns once the input thread has stopped reading (or after a second).
    pub fn pause(&self) {
        if self.ctl.send(true).is_ok() {
            let _ = self.ack.recv_timeout(std::time::Duration::from_secs(1));
        }
    }

    /// Lets the input thread read terminal events again after [`InputControl::pause`].
    pub fn resume(&self) {
        let _ = self.ctl.send(false);
    }
}

/// Reads terminal events on their own thread into `tx`. With `pausable`, the thread
/// polls (five times a second) so that it can be paused; otherwise it blocks in `read`
/// and cannot be.
///
/// # Errors
///
/// The I/O error when the input thread cannot be spawned.
pub fn spawn_input(
    tx: tokio::sync::mpsc::UnboundedSender<io::Result<event::Event>>,
    pausable: bool,
) -> io::Result<Option<InputControl>> {
    let b = std::thread::Builder::new().name("fleetboard-input".into());
    if !pausable {
        b.spawn(move || loop {
            let ev = event::read();
            let failed = ev.is_err();
            if tx.send(ev).is_err() || failed {
                break;
            }
        })?;
        return Ok(None);
    }
    let (ctl, ctl_rx) = std::sync::mpsc::channel::<bool>();
    let (ack_tx, ack) = std::sync::mpsc::channel();
    b.spawn(move || loop {
        match ctl_rx.try_recv() {
            Ok(true) => loop {
                let _ = ack_tx.send(());
                match ctl_rx.recv() {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(_) => return,
                }
            },
            Ok(false) | Err(std::sync::mpsc::TryRecvError::Empty) => {}
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
        }
        let ev = match event::poll(std::time::Duration::from_millis(200)) {
            Ok(false) => continue,
            Ok(true) => event::read(),
            Err(e) => Err(e),
        };
        let failed = ev.is_err();
        if tx.send(ev).is_err() || failed {
            break;
        }
    })?;
    Ok(Some(InputControl { ctl, ack }))
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
    /// Wraps the terminal output `inner`; no write has failed yet.
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
