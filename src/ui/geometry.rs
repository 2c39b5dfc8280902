//! Where a frame put things. Drawing reads the last frame's geometry and
//! returns the new one, which the loop hands back to the `App`: the mouse, page
//! sizes and the next frame's scroll positions read it. Nothing is written
//! behind a shared reference while a frame is drawn.

use super::app::Pane;
use super::layout::Mode;
use ratatui::layout::Rect;

#[derive(Clone, Debug, Default)]
pub struct Geometry {
    pub mode: Option<Mode>,
    /// Pane bodies (inside borders) and their outer rectangles.
    pub panes: Vec<(Pane, Rect, Rect)>,
    /// Clickable tabs and collapsed pane headers.
    pub tabs: Vec<(Pane, Rect)>,
    /// Rows of entries shown in the Events pane.
    pub events_rows: usize,
    /// The Events pane's newest row shown, counted from the newest matching
    /// entry (0 = newest), like the selection.
    pub events_bottom: usize,
    pub agents_cols: usize,
    pub agents_cell: (u16, u16),
    /// The Agents grid's first row shown.
    pub agents_top_row: usize,
    pub alerts_rows: usize,
    /// The Alerts table's first data row (after its header).
    pub alerts_first_y: u16,
    /// The first alert shown.
    pub alerts_top: usize,
    /// Rows a page key moves, per pane.
    pub page: [usize; 5],
}

impl Geometry {
    /// Where a new frame starts: the scroll positions and sizes carried over
    /// (a pane not drawn keeps its own), the panes and tabs laid out afresh.
    pub fn next(&self) -> Geometry {
        Geometry {
            mode: None,
            panes: Vec::new(),
            tabs: Vec::new(),
            ..self.clone()
        }
    }
}
