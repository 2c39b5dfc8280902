//! The console (SPEC 14): the view state (`app.rs`) made of its parts — the
//! retained stream (`stream.rs`), what each pane has selected (`selection.rs`),
//! where the last frame put things (`geometry.rs`) — and keys, the filter,
//! layout, theme, one file per pane, the detail pages (`pages.rs`), the dialogs,
//! and `draw`, which returns the frame's geometry. Pure state and rendering:
//! the loop that feeds keys, mouse and engine changes in, and writes frames
//! out, lives in `runtime` and `console`. Nothing here does I/O or changes the
//! engine; operator intents leave as `UiAction`s.
//!
//! How the loop drives it (one owner of the state):
//!
//! ```ignore
//! let mut app = App::new(&config, operator);          // report app.key_errors at start
//! app.sync(&engine, now);
//! loop {
//!     // 1. Drain every pending input.
//!     for item in batch {                             // from the source channel
//!         let level = engine.apply_event_into(&event, now, &mut fx); // and journal
//!         app.push_event(&event, level, src, line, off);  // the engine's level
//!         app.push_effects(&fx);                      // derived events, answers, bell
//!     }
//!     match terminal_event {
//!         Key(k) => match app.handle_key(k) {
//!             Some(UiAction::Operator(a)) => {
//!                 let fx = engine.apply(app.operator_input(a), now); // journal it
//!                 app.push_effects(&fx);
//!             }
//!             Some(UiAction::Quit) => break,
//!             Some(UiAction::Redraw) | None => {}
//!         },
//!         Mouse(m) => { app.handle_mouse(m); }
//!         Resize(w, h) => app.on_resize(w, h),
//!     }
//!     // 2. Refresh the orders, counts and rate, then draw if dirty (or a
//!     //    countdown second ticked), at most 30 frames a second.
//!     app.sync(&engine, now);
//!     let mut geometry = None;
//!     terminal.draw(|f| geometry = Some(ui::draw(f, &app, &engine, now)))?;
//!     app.view = geometry.unwrap();
//! }
//! ```

pub mod agents;
pub mod alerts;
pub mod app;
pub mod dialogs;
pub mod events;
pub mod filter;
pub mod geometry;
pub mod keys;
pub mod layout;
pub mod lines;
pub mod pages;
pub mod progress;
pub mod render;
pub mod retained;
pub mod selection;
pub mod status_bar;
pub mod stream;
pub mod theme;

pub use app::{App, JournalState, Pane, StreamState, Travel, UiAction};
pub use render::draw;
