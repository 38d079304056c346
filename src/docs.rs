//! Shell completions and the man page, generated from the clap definition so that they
//! can never disagree with `--help`.

use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`, as `fleetboard completions SHELL` prints it.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "fleetboard", &mut out);
    out
}

/// The man page in roff, with one section per subcommand, as `fleetboard man` prints it.
pub fn man_page() -> Vec<u8> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; an error here would be a bug in the generator.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let _ = man.render_subcommands_section(&mut out);
    out.extend_from_slice(EXTRA.as_bytes());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.extend_from_slice(
            format!(
                ".SH \"{}\"\n",
                roff_escape(&format!("fleetboard {}", sub.get_name()).to_uppercase())
            )
            .as_bytes(),
        );
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            out.extend_from_slice(format!("{}\n", roff_escape(&about.to_string())).as_bytes());
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
        {
            let name = match (arg.get_long(), arg.get_value_names()) {
                (Some(l), _) => format!("\\-\\-{l}"),
                (None, Some(v)) => v
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                (None, None) => arg.get_id().to_string(),
            };
            out.extend_from_slice(format!(".TP\n\\fB{name}\\fR\n").as_bytes());
            if let Some(h) = arg.get_help() {
                out.extend_from_slice(format!("{}\n", roff_escape(&h.to_string())).as_bytes());
            }
        }
    }
    let _ = man.render_version_section(&mut out);
    out
}

/// Sections clap does not know about: exit status, environment, files.
const EXTRA: &str = r#".SH "EXIT STATUS"
The board exits 0 when quit normally. \fBsnapshot\fR follows the Nagios plugin convention:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage and configuration errors).
.SH ENVIRONMENT
Every option that takes a value can also be set with the \fBFLEETBOARD_*\fR variable named
in its description. Precedence: command line, then environment, then config file, then
defaults. \fBNO_COLOR\fR draws no colour; \fBTMUX\fR makes notifications pass through tmux.
.SH FILES
.TP
\fI~/.config/fleetboard/config.toml\fR
The config file; \fBfleetboard config \-\-example\fR prints an annotated example and
\fBfleetboard config\fR the settings in force and where each comes from.
.TP
\fI~/.config/fleetboard/themes/NAME.toml\fR
Colour themes.
"#;

/// Escapes text for a roff paragraph: backslashes, and a leading `.` or `'` that roff
/// would read as a request.
fn roff_escape(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('-', "\\-");
    s.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_names_every_visible_subcommand() {
        let m = String::from_utf8(man_page()).unwrap_or_default();
        for s in ["snapshot", "completions", "man", "config"] {
            assert!(
                m.contains(&format!("FLEETBOARD {}", s.to_uppercase())),
                "{s}"
            );
        }
        assert!(!m.contains("bench-refresh"), "hidden commands stay hidden");
        assert!(m.contains("EXIT STATUS"));
    }

    #[test]
    fn completions_know_the_subcommands() {
        let b = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap_or_default();
        assert!(b.contains("snapshot") && b.contains("--prometheus"));
        let f = String::from_utf8(completions(clap_complete::Shell::Fish)).unwrap_or_default();
        assert!(f.contains("complete -c fleetboard"));
    }
}
