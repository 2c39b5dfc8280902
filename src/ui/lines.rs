//! Writing lines into the frame: cut to a width between words, clipped to the
//! frame, a pane's one-line notice. Shared by every pane and page.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::Frame;

use crate::text::clip_words;

/// The line cut to `width` columns between words, `…` marking the cut, so a
/// row never ends in half a word.
pub fn fit_line(mut line: Line<'_>, width: u16) -> Line<'_> {
    let width = width as usize;
    if line.width() <= width {
        return line;
    }
    let mut used = 0;
    for i in 0..line.spans.len() {
        let w = line.spans[i].width();
        if used + w > width {
            let room = width - used;
            let text = line.spans[i].content.trim_end().to_string();
            let cut = clip_words(&text, room);
            line.spans[i].content = cut.into();
            line.spans.truncate(i + 1);
            break;
        }
        used += w;
    }
    line
}

/// Writes a line at (x, y), clipped to `width` and to the frame.
pub fn put_line(frame: &mut Frame, x: u16, y: u16, line: &Line, width: u16) {
    let area = frame.area();
    if y < area.y || y >= area.bottom() || x >= area.right() {
        return;
    }
    let width = width.min(area.right() - x);
    if width == 0 {
        return;
    }
    frame.buffer_mut().set_line(x, y, line, width);
}

/// A pane's one-line notice in place of its content ("no agents yet").
pub fn put_notice(frame: &mut Frame, inner: Rect, text: &str, style: Style) {
    put_line(
        frame,
        inner.x,
        inner.y,
        &Line::styled(text, style),
        inner.width,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::text::Span;

    #[test]
    fn a_line_is_cut_between_words() {
        let line = fit_line(
            Line::from(vec![Span::raw("12:00 "), Span::raw("3 tests failing")]),
            16,
        );
        assert_eq!(line.to_string(), "12:00 3 tests…");
    }
}
