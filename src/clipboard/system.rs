//! The system clipboard through arboard, marked to stay out of clipboard history
//! (`x-kde-passwordManagerHint` on Linux, the concealed types on macOS and Windows).

use zeroize::Zeroizing;

use super::Backend;

/// The desktop clipboard. On X11 the selection lives as long as this value.
pub struct SystemClipboard {
    inner: arboard::Clipboard,
}

impl SystemClipboard {
    /// Connects to the desktop clipboard.
    pub fn new() -> Result<Self, String> {
        arboard::Clipboard::new()
            .map(|inner| Self { inner })
            .map_err(|e| e.to_string())
    }
}

impl Backend for SystemClipboard {
    fn set(&mut self, text: &str) -> Result<(), String> {
        #[cfg(target_os = "linux")]
        {
            use arboard::SetExtLinux;
            self.inner
                .set()
                .exclude_from_history()
                .text(text.to_string())
                .map_err(|e| e.to_string())
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.inner
                .set()
                .exclude_from_history()
                .text(text.to_string())
                .map_err(|e| e.to_string())
        }
    }

    fn get(&mut self) -> Option<Zeroizing<String>> {
        match self.inner.get_text() {
            Ok(text) => Some(Zeroizing::new(text)),
            // Empty, or not text: something else replaced our value.
            Err(arboard::Error::ContentNotAvailable) => Some(Zeroizing::new(String::new())),
            // Unreadable: we cannot tell, so the caller clears (failing closed).
            Err(_) => None,
        }
    }

    fn clear(&mut self) -> Result<(), String> {
        self.inner.clear().map_err(|e| e.to_string())
    }

    fn name(&self) -> &'static str {
        "system clipboard"
    }
}
