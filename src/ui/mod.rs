//! The console (SPEC 14): view state, keys, layout, theme, one file per pane,
//! dialogs, and `draw`. Pure state and rendering: the terminal loop that feeds
//! keys, mouse and engine changes in, and writes frames out, lives elsewhere.
//! Nothing here does I/O or changes the engine; operator intents leave as
//! `UiAction`s.
//!
//! How the loop drives it (one owner of the state):
//!
//! ```ignore
//! let mut app = App::new(&config, operator);          // report app.key_errors at start
//! app.demo = is_demo;
//! app.sync(&engine, now);
//! loop {
//!     // 1. Drain every pending input.
//!     for item in batch {                             // from the source channel
//!         match item {
//!             Ok(event) => { app.push_event(&event, &engine, src, line, off); /* then apply */ }
//!             Err(e)    => { app.push_parse_error(&e, now); /* then apply */ }
//!         }
//!         let fx = engine.apply(input, now);          // and journal
//!         app.push_effects(&fx, &engine);             // derived events, rejections
//!     }
//!     match terminal_event {
//!         Key(k)   => match app.handle_key(k) {
//!             Some(UiAction::Operator(a)) => {
//!                 let fx = engine.apply(app.operator_input(a), now); // journal it
//!                 app.push_effects(&fx, &engine);
//!             }
//!             Some(UiAction::Quit) => break,
//!             Some(UiAction::Redraw) | None => {}
//!         },
//!         Mouse(m) => { app.handle_mouse(m); }
//!         Resize   => {}
//!     }
//!     // 2. Refresh the worst-first orders, counts and rate, then draw if dirty
//!     //    (or a countdown second ticked), at most 30 frames a second.
//!     app.sync(&engine, now);
//!     terminal.draw(|f| app_view = ui::draw(f, &app, &engine, now))?; // then app.view = app_view
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
pub mod status_bar;
pub mod stream;
pub mod theme;

pub use app::{App, JournalState, Pane, StreamState, UiAction};
pub use render::draw;
