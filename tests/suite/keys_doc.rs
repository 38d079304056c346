//! README's Keys section against the keymap: every default key of the board's own screens
//! (grid, host panel, topology) is documented there, so the two cannot drift apart.

use fleetboard::app::keymap::{Ctx, Keymap};

/// The README's `## Keys` section, up to the next section.
fn keys_section() -> &'static str {
    let readme = include_str!("../../README.md");
    let from = readme
        .find("\n## Keys\n")
        .expect("README has a Keys section");
    let rest = &readme[from + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

#[test]
fn every_board_key_is_in_the_readme() {
    let doc = keys_section();
    let map = Keymap::default();
    let mut missing = Vec::new();
    for ctx in [Ctx::Grid, Ctx::Panel, Ctx::Topology] {
        for b in map.table(ctx) {
            for k in &b.keys {
                let k = k.to_string();
                // A key shows in the table's backticks, alone or in a group such as `←↓↑→`.
                let found = doc.contains(&format!("`{k}`"))
                    || doc.split('`').skip(1).step_by(2).any(|tok| {
                        tok.chars().count() > 1 && k.chars().count() == 1 && tok.contains(&k)
                    });
                if !found {
                    missing.push(format!("{} ({}): {}", k, ctx.title(), b.help));
                }
            }
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "keys of the keymap not in README's Keys section:\n{}",
        missing.join("\n")
    );
}
