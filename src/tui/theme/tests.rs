//! Tests of theme parsing, choosing and degrading.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::colour::{to_ansi16, to_ansi256, xterm_rgb};
use super::*;

fn builtin(name: &str) -> Theme {
    let (file, text) = BUILTIN.iter().find(|(f, _)| theme_name(f) == name).unwrap();
    parse_theme(file, text).unwrap()
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect()
}

fn all_colours(t: &Theme) -> Vec<Color> {
    let mut t = t.clone();
    t.styles_mut()
        .into_iter()
        .flat_map(|s| [s.fg, s.bg, s.underline_color])
        .flatten()
        .collect()
}

fn is_ansi16(c: Color) -> bool {
    !matches!(c, Color::Rgb(..) | Color::Indexed(_))
}

// ---- The shipped themes

#[test]
fn every_shipped_theme_loads_without_problems() {
    let names: Vec<&str> = BUILTIN.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        names,
        [
            "default.toml",
            "light.toml",
            "high-contrast.toml",
            "production.toml"
        ]
    );
    for (file, text) in BUILTIN {
        let t = parse_theme(file, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.name, theme_name(file));
    }
    let set = resolve_themes(None, &[], ColorSupport::TrueColor);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(
        set.names(),
        ["default", "light", "high-contrast", "production"]
    );
}

#[test]
fn shipped_themes_set_every_key() {
    for (file, text) in BUILTIN {
        let doc = toml_edit::ImDocument::parse(text).unwrap();
        for (section, keys) in KEYS {
            let table = doc[section].as_table_like().unwrap();
            for key in keys {
                // The background is the terminal's own unless a theme insists.
                let bg = section == "base" && *key == "bg";
                assert!(
                    table.contains_key(key) || bg,
                    "{file}: [{section}].{key} is missing"
                );
            }
        }
    }
}

#[test]
fn default_file_is_the_default_theme() {
    assert_eq!(builtin("default"), Theme::default());
}

#[test]
fn production_wears_red() {
    let t = builtin("production");
    assert_eq!(t.border.fg, Some(Color::Red));
    assert_eq!(t.title.bg, Some(Color::Red));
    assert!(t.title.add_modifier.contains(Modifier::BOLD));
    assert_eq!(t.accent.fg, Some(Color::LightRed));
}

#[test]
fn high_contrast_needs_only_sixteen_colours() {
    let t = builtin("high-contrast");
    assert!(all_colours(&t).into_iter().all(is_ansi16));
    assert_eq!(t.clone().degrade(ColorSupport::Ansi16), t);
    assert_eq!(t.base.bg, Some(Color::Black));
}

#[test]
fn light_theme_maps_sections_onto_fields() {
    let t = builtin("light");
    assert_eq!(t.base.fg, Some(Color::Black));
    assert_eq!(t.degraded.fg, Some(Color::Rgb(0xb5, 0x89, 0x00)));
    assert_eq!(t.interruption.fg, Some(Color::Rgb(0xb5, 0x89, 0x00)));
    assert_eq!(t.recovery_failed.fg, Some(Color::Red));
    assert_eq!(t.dialog, Style::default().fg(Color::Black).bg(Color::White));
    assert_eq!(
        t.selected,
        Style::default().fg(Color::White).bg(Color::Blue)
    );
}

// ---- Values

#[test]
fn colours_in_every_spelling() {
    let ok = [
        ("red", Color::Red),
        ("LightRed", Color::LightRed),
        ("light-red", Color::LightRed),
        ("light_red", Color::LightRed),
        ("dark gray", Color::DarkGray),
        ("darkgrey", Color::DarkGray),
        ("grey", Color::Gray),
        ("reset", Color::Reset),
        ("#FF8800", Color::Rgb(255, 136, 0)),
        ("#1e90ff", Color::Rgb(30, 144, 255)),
        ("42", Color::Indexed(42)),
        ("0", Color::Indexed(0)),
        ("255", Color::Indexed(255)),
    ];
    for (text, want) in ok {
        assert_eq!(parse_colour(text), Ok(want), "{text}");
    }
    for bad in ["gren", "#12345", "#12345g", "256", "", "blurple"] {
        assert!(parse_colour(bad).is_err(), "{bad}");
    }
    let (msg, fix) = parse_colour("gren").unwrap_err();
    assert_eq!(msg, "\"gren\" is not a colour");
    assert!(fix.starts_with("did you mean \"green\"?"), "{fix}");
}

#[test]
fn styles_as_colours_tables_and_sections() {
    let text = r##"
[base]
dim = 244
title = { fg = "cyan", bg = "#000080", bold = true, underlined = true, italic = false }
[base.selected]
reversed = true
crossed_out = true
[state]
healthy = "green"
"##;
    let t = parse_theme("mine.toml", text).unwrap();
    assert_eq!(t.name, "mine");
    assert_eq!(t.dim, Style::default().fg(Color::Indexed(244)));
    assert_eq!(
        t.title,
        Style::default()
            .fg(Color::Cyan)
            .bg(Color::Rgb(0, 0, 128))
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    );
    assert_eq!(
        t.selected,
        Style::default().add_modifier(Modifier::REVERSED | Modifier::CROSSED_OUT)
    );
    // A value replaces the whole style: `failed` was bold by default, `healthy` was not.
    assert_eq!(t.healthy, Style::default().fg(Color::Green));
    // Keys left out keep the default's value.
    assert_eq!(t.failed, Theme::default().failed);
    assert_eq!(t.accent, Theme::default().accent);
}

#[test]
fn base_and_dialog_fg_bg_set_one_colour_each() {
    let text = "[base]\nbg = \"black\"\n[dialog]\nfg = \"yellow\"\n";
    let t = parse_theme("x.toml", text).unwrap();
    assert_eq!(t.base, Style::default().fg(Color::Gray).bg(Color::Black));
    assert_eq!(
        t.dialog,
        Style::default().fg(Color::Yellow).bg(Color::Black)
    );
}

// ---- Bad files

fn problems(text: &str) -> Vec<String> {
    parse_theme("themes/mine.toml", text).unwrap_err().lines()
}

#[test]
fn unknown_key_names_file_line_key_and_the_likely_one() {
    let p = problems("[base]\naccent = \"cyan\"\n\n[state]\nhealty = \"green\"\n");
    assert_eq!(
        p,
        [
            "themes/mine.toml:5:1: [state].healty: unknown key \"healty\"\n  fix: did you mean \
             \"healthy\"? the keys of [state] are healthy, degraded, suspect, failed, fenced, stale"
        ]
    );
}

#[test]
fn bad_colour_names_file_key_value_and_fix() {
    let p = problems("[state]\nhealthy = \"gren\"\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("themes/mine.toml:2:11: [state].healthy: \"gren\" is not a colour\n"),
        "{}",
        p[0]
    );
    assert!(p[0].contains("fix: did you mean \"green\"?"), "{}", p[0]);
}

#[test]
fn bad_toml_names_file_line_and_column() {
    let p = problems("[state]\nhealthy = green\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("themes/mine.toml:2:11: TOML syntax error:"),
        "{}",
        p[0]
    );
    assert!(p[0].contains("fix: "), "{}", p[0]);
}

#[test]
fn every_problem_in_a_file_is_reported() {
    let text = r##"
name = "mine"
[stat]
healthy = "green"
[base]
title = { fg = "cyna", bold = "yes", blink = true }
fg = { fg = "red" }
[recovery]
running = 300
resolved = "#12"
"##;
    let p = problems(text);
    let want = [
        "themes/mine.toml:2:1: name: unknown key \"name\"",
        "a theme is named after its file",
        "themes/mine.toml:3:2: [stat]: unknown section [stat]\n  fix: did you mean [state]?",
        "[base].title.fg: \"cyna\" is not a colour\n  fix: did you mean \"cyan\"?",
        "[base].title.bold: expected true or false, found \"yes\"",
        "[base].title.blink: unknown key \"blink\"",
        "[base].fg: expected a colour, found a table",
        "themes/mine.toml:9:11: [recovery].running: colour number 300 is out of range",
        "[recovery].resolved: \"#12\" is not a colour\n  fix: write \"#\" and six hex digits",
    ];
    let all = p.join("\n");
    for w in want {
        assert!(all.contains(w), "missing {w:?} in\n{all}");
    }
    assert_eq!(p.len(), 8, "{all}");
}

#[test]
fn a_bad_chosen_theme_falls_back_to_the_default() {
    let disk = files(&[("themes/ocean.toml", "[state]\nhealthy = \"gren\"\n")]);
    let set = resolve_themes(Some("ocean"), &disk, ColorSupport::TrueColor);
    assert_eq!(set.current().name, "default");
    assert_eq!(*set.current(), Theme::default());
    let all = set.warnings.join("\n");
    assert!(
        all.contains("themes/ocean.toml:2:11: [state].healthy: \"gren\" is not a colour"),
        "{all}"
    );
    assert!(all.contains("using the \"default\" theme instead"), "{all}");
    assert_eq!(set.find("ocean"), None);
}

#[test]
fn a_bad_file_that_overrides_a_builtin_leaves_the_builtin() {
    let disk = files(&[("/etc/lifeboat/themes/light.toml", "[base\n")]);
    let set = resolve_themes(Some("light"), &disk, ColorSupport::TrueColor);
    assert_eq!(*set.current(), builtin("light"));
    let all = set.warnings.join("\n");
    assert!(all.contains("/etc/lifeboat/themes/light.toml:1:"), "{all}");
    assert!(all.contains("TOML syntax error"), "{all}");
    assert!(
        all.contains("the built-in \"light\" theme is used instead"),
        "{all}"
    );
}

// ---- Choosing

#[test]
fn choice_is_a_name_or_a_path() {
    assert_eq!(ThemeChoice::parse("light"), ThemeChoice::Name("light"));
    assert_eq!(ThemeChoice::parse("x.toml"), ThemeChoice::Path("x.toml"));
    assert_eq!(ThemeChoice::parse("./x"), ThemeChoice::Path("./x"));
    assert_eq!(
        ThemeChoice::parse("C:\\t\\x"),
        ThemeChoice::Path("C:\\t\\x")
    );
}

#[test]
fn picks_by_name_case_ignored() {
    let set = resolve_themes(Some("Production"), &[], ColorSupport::TrueColor);
    assert_eq!(set.current, 3);
    assert_eq!(*set.current(), builtin("production"));
    assert!(set.warnings.is_empty());
    let set = resolve_themes(None, &[], ColorSupport::TrueColor);
    assert_eq!(set.current().name, "default");
    let set = resolve_themes(Some("  "), &[], ColorSupport::TrueColor);
    assert_eq!(set.current, 0);
    assert!(set.warnings.is_empty());
}

#[test]
fn unknown_name_suggests_and_lists() {
    let set = resolve_themes(Some("prodution"), &[], ColorSupport::TrueColor);
    assert_eq!(set.current, 0);
    assert_eq!(
        set.warnings,
        ["unknown theme \"prodution\"; using the \"default\" theme instead\n  fix: did you mean \
          \"production\"? the themes are default, light, high-contrast, production; or give a \
          path to a .toml file"]
    );
}

#[test]
fn disk_files_override_builtins_and_add_themes() {
    let disk = files(&[
        ("themes/zebra.toml", "[base]\naccent = \"white\"\n"),
        ("themes/default.toml", "[base]\naccent = \"blue\"\n"),
        ("themes/aqua.toml", "[base]\naccent = \"cyan\"\n"),
    ]);
    let set = resolve_themes(Some("zebra"), &disk, ColorSupport::TrueColor);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(
        set.names(),
        [
            "default",
            "light",
            "high-contrast",
            "production",
            "aqua",
            "zebra"
        ]
    );
    assert_eq!(set.current, 5);
    assert_eq!(set.current().accent.fg, Some(Color::White));
    assert_eq!(set.get(0).accent.fg, Some(Color::Blue));
    assert_eq!(set.next(5), 0);
    assert_eq!(set.next(0), 1);
    assert_eq!(set.get(6).name, "default");
    assert_eq!(set.find("AQUA"), Some(4));
    let list = set.into_vec();
    assert_eq!(list[0].name, "zebra");
    assert_eq!(list[1].name, "default");
    assert_eq!(list.len(), 6);
}

#[test]
fn a_path_choice_reads_the_file_passed_under_that_path() {
    let path = "../my themes/night.toml";
    let disk = files(&[(path, "[base]\naccent = \"magenta\"\n")]);
    let set = resolve_themes(Some(path), &disk, ColorSupport::TrueColor);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(set.current().name, "night");
    assert_eq!(set.current().accent.fg, Some(Color::Magenta));

    let set = resolve_themes(Some("gone.toml"), &[], ColorSupport::TrueColor);
    assert_eq!(set.current, 0);
    assert_eq!(
        set.warnings,
        ["gone.toml: theme file could not be read; using the \"default\" theme instead"]
    );

    let disk = files(&[(
        "bad.toml",
        "[dialog]\ndanger = { fg = \"red\", bold = 1 }\n",
    )]);
    let set = resolve_themes(Some("bad.toml"), &disk, ColorSupport::TrueColor);
    assert_eq!(set.current().name, "default");
    let all = set.warnings.join("\n");
    assert!(
        all.contains("bad.toml:2:31: [dialog].danger.bold: expected true or false, found 1"),
        "{all}"
    );
    assert!(all.contains("bad.toml: theme not loaded; using the \"default\" theme instead"));
}

// ---- Terminals

#[test]
fn detects_colour_support_from_the_environment() {
    use ColorSupport as C;
    let cases = [
        (
            Some("1"),
            Some("truecolor"),
            Some("xterm-256color"),
            C::None,
        ),
        (Some(""), Some("truecolor"), None, C::TrueColor),
        (None, Some("truecolor"), Some("xterm"), C::TrueColor),
        (None, Some("24bit"), None, C::TrueColor),
        (None, Some("TrueColor"), None, C::TrueColor),
        (None, None, Some("xterm-256color"), C::Ansi256),
        (None, Some(""), Some("screen-256color"), C::Ansi256),
        (None, None, Some("xterm"), C::Ansi16),
        (None, None, Some("linux"), C::Ansi16),
        (None, None, None, C::Ansi16),
    ];
    for (no_color, colorterm, term, want) in cases {
        assert_eq!(
            ColorSupport::detect(no_color, colorterm, term),
            want,
            "{no_color:?} {colorterm:?} {term:?}"
        );
    }
}

#[test]
fn no_color_keeps_modifiers_and_a_visible_selection() {
    for (file, text) in BUILTIN {
        let t = parse_theme(file, text).unwrap();
        let before = t.clone();
        let t = t.degrade(ColorSupport::None);
        assert!(all_colours(&t).is_empty(), "{file}");
        assert!(
            t.selected.add_modifier.contains(Modifier::REVERSED),
            "{file}"
        );
        assert_eq!(t.failed.add_modifier, before.failed.add_modifier, "{file}");
        assert_eq!(t.title.add_modifier, before.title.add_modifier, "{file}");
    }
}

#[test]
fn sixteen_colours_map_to_the_nearest_ansi_colour() {
    assert_eq!(to_ansi16(Color::Rgb(250, 10, 10)), Color::LightRed);
    assert_eq!(to_ansi16(Color::Rgb(0xb5, 0x89, 0x00)), Color::Yellow);
    assert_eq!(to_ansi16(Color::Rgb(0xcb, 0x4b, 0x16)), Color::Red);
    assert_eq!(to_ansi16(Color::Rgb(10, 10, 10)), Color::Black);
    assert_eq!(to_ansi16(Color::Rgb(128, 128, 128)), Color::DarkGray);
    assert_eq!(to_ansi16(Color::Indexed(196)), Color::LightRed);
    assert_eq!(to_ansi16(Color::Indexed(1)), Color::Red);
    assert_eq!(to_ansi16(Color::Indexed(15)), Color::White);
    assert_eq!(to_ansi16(Color::Indexed(21)), Color::Blue);
    assert_eq!(to_ansi16(Color::Cyan), Color::Cyan);
    assert_eq!(to_ansi16(Color::Reset), Color::Reset);
    for (file, text) in BUILTIN {
        let t = parse_theme(file, text)
            .unwrap()
            .degrade(ColorSupport::Ansi16);
        assert!(all_colours(&t).into_iter().all(is_ansi16), "{file}");
    }
    let prod = builtin("production").degrade(ColorSupport::Ansi16);
    assert_eq!(prod.dialog.bg, Some(Color::Black));
    assert_eq!(prod.title.bg, Some(Color::Red));
}

#[test]
fn two_fifty_six_colours_map_rgb_to_the_nearest_index() {
    assert_eq!(to_ansi256(Color::Rgb(255, 0, 0)), Color::Indexed(196));
    assert_eq!(to_ansi256(Color::Rgb(128, 128, 128)), Color::Indexed(244));
    assert_eq!(to_ansi256(Color::Rgb(0x5f, 0x00, 0x00)), Color::Indexed(52));
    assert_eq!(to_ansi256(Color::Rgb(0, 0, 0)), Color::Indexed(16));
    assert_eq!(to_ansi256(Color::Indexed(3)), Color::Indexed(3));
    assert_eq!(to_ansi256(Color::LightRed), Color::LightRed);
    for (file, text) in BUILTIN {
        let t = parse_theme(file, text)
            .unwrap()
            .degrade(ColorSupport::Ansi256);
        assert!(
            all_colours(&t)
                .into_iter()
                .all(|c| !matches!(c, Color::Rgb(..))),
            "{file}"
        );
    }
    let light = builtin("light");
    assert_eq!(light.clone().degrade(ColorSupport::TrueColor), light);
}

#[test]
fn resolve_degrades_every_theme() {
    let set = resolve_themes(Some("light"), &[], ColorSupport::None);
    for i in 0..set.len() {
        assert!(all_colours(set.get(i)).is_empty());
    }
    let set = resolve_themes(Some("light"), &[], ColorSupport::Ansi16);
    assert_eq!(set.current().degraded.fg, Some(Color::Yellow));
}

#[test]
fn xterm_palette_edges() {
    assert_eq!(xterm_rgb(16), (0, 0, 0));
    assert_eq!(xterm_rgb(231), (255, 255, 255));
    assert_eq!(xterm_rgb(232), (8, 8, 8));
    assert_eq!(xterm_rgb(255), (238, 238, 238));
    assert_eq!(xterm_rgb(9), (255, 0, 0));
}
