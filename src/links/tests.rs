#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn vars<'a>(host: &'a str, cluster: &'a str, source: Option<&'a str>) -> HostVars<'a> {
    HostVars {
        host,
        cluster,
        source,
    }
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn commands_take_plain_host_names_as_whole_arguments() {
    let ssh = argv(&["ssh", "{host}"]);
    assert_eq!(
        render_command(&ssh, &vars("db1.example.net", "p", None)),
        Ok(argv(&["ssh", "db1.example.net"]))
    );
    let mysql = argv(&["mysql", "-h", "{host}", "--prompt=({cluster})> "]);
    assert_eq!(
        render_command(&mysql, &vars("10.0.0.7", "payments", None)),
        Ok(argv(&["mysql", "-h", "10.0.0.7", "--prompt=(payments)> "]))
    );
    assert_eq!(
        render_command(&argv(&["ssh", "{host}"]), &vars("fe80::1", "p", None)),
        Ok(argv(&["ssh", "fe80::1"]))
    );
}

#[test]
fn commands_refuse_shell_metacharacters_options_and_missing_values() {
    let ssh = argv(&["ssh", "{host}"]);
    for bad in [
        "-oProxyCommand=touch /tmp/x",
        "-v",
        "db1;rm -rf /",
        "db1 && id",
        "$(id)",
        "`id`",
        "db1|nc",
        "db1\nid",
        "db1\x1b[2J",
        "db1>out",
        "../etc",
        "",
        "db1 ",
        "db1/x",
        "ünicode",
    ] {
        let r = render_command(&ssh, &vars(bad, "p", None));
        assert!(
            matches!(r, Err(Refusal::NotAHostName { var: "host", .. })),
            "{bad:?} gave {r:?}"
        );
    }
    // The cluster is checked too, even inside a larger argument.
    let r = render_command(
        &argv(&["mysql", "--prompt={cluster}"]),
        &vars("db1", "a b", None),
    );
    assert!(matches!(
        r,
        Err(Refusal::NotAHostName { var: "cluster", .. })
    ));
    assert_eq!(
        render_command(&argv(&["ssh", "{source}"]), &vars("db1", "p", None)),
        Err(Refusal::Missing("source"))
    );
    // The refusal message shows the value escaped.
    let msg = render_command(&ssh, &vars("a\x1b]52;c;x\x07", "p", None))
        .unwrap_err()
        .to_string();
    assert!(!msg.chars().any(crate::sanitize::is_dangerous), "{msg:?}");
}

#[test]
fn urls_are_percent_encoded_and_http_only() {
    let t = "https://grafana.example.net/d/mysql?var-host={host}&var-cluster={cluster}";
    assert_eq!(
        render_url(t, &vars("db1", "pay ments&x=1", None)),
        Ok(
            "https://grafana.example.net/d/mysql?var-host=db1&var-cluster=pay%20ments%26x%3D1"
                .into()
        )
    );
    // A value cannot break out of its component, nor carry a control character.
    let u = render_url(t, &vars("db1\x1b]8;;evil\x07#frag", "p", None)).unwrap();
    assert!(!u.chars().any(crate::sanitize::is_dangerous), "{u}");
    assert!(u.contains("db1%1B%5D8%3B%3Bevil%07%23frag"), "{u}");
    // A template whose scheme comes from a value is refused.
    assert!(matches!(
        render_url("{host}", &vars("javascript:alert(1)", "p", None)),
        Err(Refusal::BadUrl(_))
    ));
    assert!(matches!(
        render_url("file:///etc/{host}", &vars("passwd", "p", None)),
        Err(Refusal::BadUrl(_))
    ));
}

#[test]
fn config_refuses_templated_programs_and_unknown_placeholders() {
    let file = |argv: &[&str]| LinksFile {
        commands: vec![CommandFile {
            name: "x".into(),
            argv: argv.iter().map(|s| (*s).to_string()).collect(),
        }],
        ..LinksFile::default()
    };
    assert!(LinksConfig::from_file(&file(&["ssh", "{host}"])).is_ok());
    let e = LinksConfig::from_file(&file(&["{host}"])).unwrap_err();
    assert!(e.1.contains("argv[0]"), "{e:?}");
    let e = LinksConfig::from_file(&file(&["ssh", "{hots}"])).unwrap_err();
    assert!(e.1.contains("unknown placeholder `{hots}`"), "{e:?}");
    assert!(LinksConfig::from_file(&file(&[])).is_err());
    let url = |u: &str| LinksFile {
        urls: vec![UrlFile {
            name: "g".into(),
            url: u.into(),
        }],
        ..LinksFile::default()
    };
    assert!(LinksConfig::from_file(&url("https://g/{host}")).is_ok());
    assert!(LinksConfig::from_file(&url("ftp://g/{host}")).is_err());
    let opener = LinksFile {
        opener: Some(vec!["open".into(), "{host}".into()]),
        ..LinksFile::default()
    };
    assert!(LinksConfig::from_file(&opener).is_err());
}

mod panel {
    use super::*;
    use crate::testing;
    use crossterm::event::KeyModifiers;

    fn app_with_links(read_only: bool, allow: bool, commands: usize) -> App {
        let mut app = testing::demo_app(120, 40);
        let mut cfg = LinksConfig::from_file(&LinksFile {
            urls: vec![UrlFile {
                name: "Grafana".into(),
                url: "https://g.example/d?h={host}".into(),
            }],
            commands: [["ssh", "{host}"], ["mysql", "{host}"]]
                .iter()
                .take(commands)
                .map(|a| CommandFile {
                    name: a[0].into(),
                    argv: a.iter().map(|s| (*s).to_string()).collect(),
                })
                .collect(),
            ..LinksFile::default()
        })
        .unwrap();
        cfg.allow_in_read_only = allow;
        app.panel.links = LinksUi::new(cfg, read_only);
        app.update(Action::Open);
        assert!(matches!(app.screen, Screen::Host(_)));
        app
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn press(app: &mut App, c: char) -> Vec<Command> {
        let a = crate::action::map_event(&crossterm::event::Event::Key(key(c)));
        app.update(a)
    }

    #[test]
    fn open_and_run_from_the_panel() {
        let mut app = app_with_links(false, false, 2);
        let host = app.selected_host().unwrap().id.name.clone();
        let c = press(&mut app, 'o');
        assert_eq!(
            c,
            vec![Command::OpenUrl(argv(&[
                "xdg-open",
                &format!("https://g.example/d?h={host}")
            ]))]
        );
        // Two commands: `x` asks, a digit picks.
        assert!(press(&mut app, 'x').is_empty());
        assert_eq!(app.panel.links.picking, Some(Picking::Command));
        assert_eq!(
            press(&mut app, '2'),
            vec![Command::RunCommand(argv(&["mysql", &host]))]
        );
        assert_eq!(app.panel.links.picking, None);
        // Esc cancels a pick and stays in the panel.
        press(&mut app, 'x');
        let a = crate::action::map_event(&crossterm::event::Event::Key(KeyEvent::new(
            KeyCode::Esc,
            KeyModifiers::NONE,
        )));
        assert!(app.update(a).is_empty());
        assert!(matches!(app.screen, Screen::Host(_)));
    }

    #[test]
    fn commands_are_refused_in_read_only_unless_allowed() {
        let mut app = app_with_links(true, false, 1);
        assert!(press(&mut app, 'x').is_empty());
        assert!(app
            .message
            .as_ref()
            .map_or("", |m| m.text.as_str())
            .contains("read-only"));
        // Links still open: they write nothing.
        assert_eq!(press(&mut app, 'o').len(), 1);
        let mut app = app_with_links(true, true, 1);
        assert_eq!(press(&mut app, 'x').len(), 1);
    }

    #[test]
    fn the_links_row_and_its_hyperlink_spots_agree() {
        let mut app = app_with_links(false, false, 2);
        let buf = testing::render(&app);
        let text = testing::buffer_text(&buf);
        assert!(
            text.contains("links 1 Grafana  commands 1 ssh  2 mysql  o open · x run"),
            "{text}"
        );
        let spots = crate::ui::hyperlinks(&app, buf.area);
        assert_eq!(spots.len(), 1);
        let s = &spots[0];
        let under: String = (s.x..s.x + s.width)
            .map(|x| buf[(x, s.y)].symbol())
            .collect();
        assert_eq!(under, "Grafana");
        let host = app.selected_host().unwrap().id.name.clone();
        assert_eq!(s.url, format!("https://g.example/d?h={host}"));
        // Covered by the help: no hyperlink may be written over it.
        app.update(Action::Help);
        assert!(crate::ui::hyperlinks(&app, buf.area).is_empty());
    }

    #[test]
    fn open_link_and_run_command_can_be_rebound() {
        let mut app = app_with_links(false, false, 1);
        let rebind = std::collections::BTreeMap::from([
            ("open_link".to_string(), vec!["O".to_string()]),
            ("run_command".to_string(), vec!["ctrl-x".to_string()]),
        ]);
        app.keymap =
            std::sync::Arc::new(crate::app::keymap::Keymap::with_bindings(&rebind).unwrap());
        assert!(press(&mut app, 'o').is_empty());
        assert!(matches!(
            press(&mut app, 'O').as_slice(),
            [Command::OpenUrl(_)]
        ));
        let ctrl_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL);
        let a = crate::action::map_event(&crossterm::event::Event::Key(ctrl_x));
        assert!(matches!(app.update(a).as_slice(), [Command::RunCommand(_)]));
        let text = testing::buffer_text(&testing::render(&app));
        assert!(text.contains("O open · Ctrl-X run"), "{text}");
    }
}
