//! What each line does to the pending event (spec §9.2.6): the field's name and
//! value, `data:` lines joined, `event: error`, and dispatching the event.

use super::{SseError, SseEvent, SseParser, DONE};

/// One field line, after the spec's §9.2.6 split into name and value.
pub(super) enum Line<'a> {
    /// An empty line: dispatch the event.
    Blank,
    /// A `data` field, with its value.
    Data(&'a str),
    /// An `event` field, with its value (the event type).
    Event(&'a str),
    /// A comment, or a field this client has no use for (`id`, `retry`, unknown).
    Ignored,
}

impl<'a> Line<'a> {
    /// Spec §9.2.6: a line starting with a colon is a comment; otherwise the field
    /// name is everything before the first colon (the whole line if there is
    /// none) and the value everything after it, minus one leading space.
    pub(super) fn classify(line: &'a str) -> Line<'a> {
        // `data:` first: nearly every line of a completion stream is one.
        if let Some(value) = line.strip_prefix("data:") {
            return Line::Data(strip_one_space(value));
        }
        if line.is_empty() {
            return Line::Blank;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, strip_one_space(value)),
            None => (line, ""),
        };
        // An empty name is a comment (the line started with a colon).
        match name {
            "data" => Line::Data(value),
            "event" => Line::Event(value),
            _ => Line::Ignored,
        }
    }
}

fn strip_one_space(value: &str) -> &str {
    value.strip_prefix(' ').unwrap_or(value)
}

impl SseParser {
    /// Spec §9.2.6: what each kind of line does to the pending event.
    pub(super) fn apply<F: FnMut(SseEvent<'_>)>(
        &mut self,
        line: Line<'_>,
        borrowed: &mut Option<&str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        match line {
            Line::Blank => self.dispatch(borrowed.take(), on_event),
            Line::Data(value) => {
                // A second data line (or one that spanned chunks): join in our buffer.
                if self.has_data {
                    if let Some(first) = borrowed.take() {
                        self.reserve_data(first.len());
                        self.data.push_str(first);
                    }
                    if self.data.len() + 1 + value.len() > self.limit {
                        return Err(SseError::EventTooLarge { limit: self.limit });
                    }
                    self.reserve_data(1 + value.len());
                    self.data.push('\n');
                } else if self.data.len() + value.len() > self.limit {
                    return Err(SseError::EventTooLarge { limit: self.limit });
                }
                self.has_data = true;
                self.reserve_data(value.len());
                self.data.push_str(value);
            }
            Line::Event(kind) => self.error_event = kind == "error",
            Line::Ignored => {}
        }
        Ok(())
    }

    /// Spec §9.2.6 "dispatch the event": an event without any data line is
    /// dropped; either way the data and event type buffers are emptied.
    pub(super) fn dispatch<F: FnMut(SseEvent<'_>)>(
        &mut self,
        borrowed: Option<&str>,
        on_event: &mut F,
    ) {
        if self.has_data {
            let data = borrowed.unwrap_or(self.data.as_str());
            on_event(if self.error_event {
                SseEvent::Error(data)
            } else if data == DONE {
                SseEvent::Done
            } else {
                SseEvent::Data(data)
            });
        }
        self.clear_event();
    }
}
