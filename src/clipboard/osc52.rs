//! OSC 52: the terminal sets its own clipboard from an escape sequence. Works over SSH
//! and through tmux when tmux has `set -s set-clipboard on`.

use std::io::Write;

use base64::Engine;
use zeroize::Zeroizing;

use super::Backend;

/// Writes OSC 52 sequences to a terminal.
pub struct Osc52 {
    out: Box<dyn Write + Send>,
}

impl Osc52 {
    /// Writes to stdout, the terminal keyward draws on.
    pub fn stdout() -> Self {
        Self {
            out: Box::new(std::io::stdout()),
        }
    }

    /// Writes to any writer (tests).
    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        Self { out }
    }

    fn send(&mut self, payload: &str) -> Result<(), String> {
        let seq = Zeroizing::new(format!("\x1b]52;c;{payload}\x07"));
        self.out
            .write_all(seq.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| format!("cannot write to the terminal: {e}"))
    }
}

impl Backend for Osc52 {
    fn set(&mut self, text: &str) -> Result<(), String> {
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(text));
        self.send(&encoded)
    }

    fn get(&mut self) -> Option<Zeroizing<String>> {
        None
    }

    fn clear(&mut self) -> Result<(), String> {
        // An empty payload empties the selection.
        self.send("")
    }

    fn name(&self) -> &'static str {
        "terminal clipboard (OSC 52)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_base64_then_an_empty_clear() {
        let sink = Sink::default();
        let mut o = Osc52::to_writer(Box::new(sink.clone()));
        o.set("sk-abc").unwrap();
        o.clear().unwrap();
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out, "\x1b]52;c;c2stYWJj\x07\x1b]52;c;\x07");
    }
}
