//! How reports look on this output: colours (TTY, `NO_COLOR`), borders, width; and the number,
//! money and duration formats tables share.

use std::io::IsTerminal;

use comfy_table::{presets, Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};

/// Rendering choices for one output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours and bold.
    pub color: bool,
    /// Box-drawing borders (a terminal); plain space-aligned columns otherwise.
    pub boxed: bool,
    /// Columns available; `None` = unlimited (piped output never wraps).
    pub width: Option<u16>,
}

impl Style {
    /// For stdout as it is: a terminal gets borders, colour (unless `NO_COLOR` is set or
    /// `TERM=dumb`) and its width (or `COLUMNS`); a pipe or file gets plain columns.
    pub fn detect() -> Style {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&c| c > 0);
        let width = if tty {
            columns.or_else(|| Table::new().width())
        } else {
            None
        };
        Style {
            color: tty && !no_color && !dumb,
            boxed: tty,
            width,
        }
    }

    /// No colour, no borders, no width limit: what pipes, files and snapshot tests get.
    pub fn plain() -> Style {
        Style {
            color: false,
            boxed: false,
            width: None,
        }
    }

    /// An empty table in this style, with `headers`; columns from `numbers_from` on hold numbers
    /// and are right-aligned, headers included.
    pub fn table(&self, headers: &[&str], numbers_from: usize) -> Table {
        let mut table = Table::new();
        table.force_no_tty();
        if self.color {
            table.enforce_styling();
        }
        if self.boxed {
            table
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS);
        } else {
            // Space-aligned columns, no lines: easy to read, grep and cut.
            table.load_preset(presets::NOTHING);
        }
        table.set_content_arrangement(ContentArrangement::Disabled);
        let header: Vec<Cell> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let cell = self.header(h);
                if i >= numbers_from {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            })
            .collect();
        table.set_header(header);
        for (i, column) in table.column_iter_mut().enumerate() {
            if i >= numbers_from {
                column.set_cell_alignment(CellAlignment::Right);
            }
            if !self.boxed {
                column.set_padding((0, 2));
            }
        }
        table
    }

    /// Renders a table; plain tables lose the trailing blanks of their last column.
    pub fn render(&self, table: &Table) -> String {
        let mut out = String::new();
        for line in table.lines() {
            out.push_str(if self.boxed { &line } else { line.trim_end() });
            out.push('\n');
        }
        out
    }

    /// Whether every line of `text` fits the width.
    pub fn fits(&self, text: &str) -> bool {
        self.width
            .is_none_or(|w| text.lines().all(|l| display_width(l) <= usize::from(w)))
    }

    /// Wraps a paragraph to the width (when there is one); lines after the first are indented
    /// by `indent` spaces. Ends with a newline.
    pub fn wrap(&self, text: &str, indent: usize) -> String {
        let Some(width) = self.width.map(usize::from) else {
            return format!("{text}\n");
        };
        let mut out = String::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.trim().is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(indent);
            } else if !line.trim().is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        out
    }

    pub fn header(&self, text: &str) -> Cell {
        let cell = Cell::new(text);
        if self.color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }

    /// A totals-row cell.
    pub fn strong(&self, text: impl ToString) -> Cell {
        let cell = Cell::new(text.to_string());
        if self.color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }

    /// A cell that needs the reader's attention (unpriced cost).
    pub fn warn(&self, text: impl ToString) -> Cell {
        let cell = Cell::new(text.to_string());
        if self.color {
            cell.fg(Color::Yellow)
        } else {
            cell
        }
    }

    pub fn dim(&self, text: impl ToString) -> Cell {
        let cell = Cell::new(text.to_string());
        if self.color {
            cell.add_attribute(Attribute::Dim)
        } else {
            cell
        }
    }

    /// Text in the style's emphasis (for titles outside tables).
    pub fn bold_text(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Visible width of a line: ANSI escapes take no room.
fn display_width(line: &str) -> usize {
    let mut width = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1234567` → `1.23M`: token counts in the compact layout.
pub fn short_count(n: i64) -> String {
    let x = n as f64;
    match n.unsigned_abs() {
        0..=9_999 => thousands(n),
        10_000..=999_999 => format!("{:.1}K", x / 1e3),
        1_000_000..=999_999_999 => format!("{:.2}M", x / 1e6),
        _ => format!("{:.2}B", x / 1e9),
    }
}

/// Nano-dollars to `$1,234.56` (rounded to the cent; a positive amount under half a cent is `<$0.01`).
pub fn usd(nanos: i64) -> String {
    if nanos > 0 && nanos < 5_000_000 {
        return "<$0.01".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let cents = (nanos.unsigned_abs() + 5_000_000) / 10_000_000;
    format!(
        "{sign}${}.{:02}",
        thousands((cents / 100) as i64),
        cents % 100
    )
}

/// Nano-dollars to `$0.0315` (four decimals): single requests and sessions. An amount that
/// would round to `$0.0000` but is not zero gets six decimals (`$0.000012`): a cost is never
/// shown as nothing.
pub fn usd_fine(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    if nanos != 0 && nanos.unsigned_abs() < 50_000 {
        return format!("{sign}$0.{:06}", (nanos.unsigned_abs() + 500) / 1_000);
    }
    let units = (nanos.unsigned_abs() + 50_000) / 100_000;
    format!(
        "{sign}${}.{:04}",
        thousands((units / 10_000) as i64),
        units % 10_000
    )
}

/// Nano-dollars to `$1,234.56`, or with [`usd_fine`]'s decimals below a cent (`$0.0031`): for
/// messages where an amount must be read, not just glanced at (a budget that stopped a request).
pub fn usd_readable(nanos: i64) -> String {
    if nanos != 0 && nanos.unsigned_abs() < 10_000_000 {
        usd_fine(nanos)
    } else {
        usd(nanos)
    }
}

/// Microseconds to `2h 05m`, `12m 03s`, `45s`, `850ms`.
pub fn duration(us: i64) -> String {
    let us = us.max(0);
    if us < 1_000_000 {
        return format!("{}ms", us / 1000);
    }
    let s = us / 1_000_000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A ratio as `87.5%`.
pub fn percent(ratio: Option<f64>) -> String {
    ratio
        .map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(short_count(9_999), "9,999");
        assert_eq!(short_count(12_345), "12.3K");
        assert_eq!(short_count(1_234_567), "1.23M");
        assert_eq!(short_count(12_345_678_901), "12.35B");
    }

    #[test]
    fn money_formats() {
        assert_eq!(usd(0), "$0.00");
        assert_eq!(usd(4_999_999), "<$0.01");
        assert_eq!(usd_readable(4_999_999), "$0.0050");
        assert_eq!(usd_readable(3_100_000), "$0.0031");
        assert_eq!(usd_readable(12_000), "$0.000012");
        assert_eq!(usd_readable(10_000_000), "$0.01");
        assert_eq!(usd_readable(1_234_560_000_000), "$1,234.56");
        assert_eq!(usd_readable(0), "$0.00");
        assert_eq!(usd(5_000_000), "$0.01");
        assert_eq!(usd(1_234_565_000_000), "$1,234.57");
        assert_eq!(usd(31_530_000), "$0.03");
        assert_eq!(usd_fine(31_530_000), "$0.0315");
        assert_eq!(usd_fine(31_550_000), "$0.0316");
        assert_eq!(usd_fine(12_000_000_000), "$12.0000");
        assert_eq!(usd_fine(0), "$0.0000");
        assert_eq!(usd_fine(12_345), "$0.000012");
        assert_eq!(usd_fine(-49_999), "-$0.000050");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(850_000), "850ms");
        assert_eq!(duration(45_000_000), "45s");
        assert_eq!(duration(723_000_000), "12m 03s");
        assert_eq!(duration(7_500_000_000), "2h 05m");
    }

    #[test]
    fn width_ignores_escapes() {
        assert_eq!(display_width("\x1b[1mab\x1b[0m"), 2);
        let narrow = Style {
            color: false,
            boxed: true,
            width: Some(3),
        };
        assert!(narrow.fits("abc\nab"));
        assert!(!narrow.fits("abcd"));
    }

    #[test]
    fn wraps_paragraphs_to_the_width() {
        let style = Style {
            color: false,
            boxed: true,
            width: Some(12),
        };
        assert_eq!(
            style.wrap("* one two three four five", 2),
            "* one two\n  three four\n  five\n"
        );
        assert_eq!(Style::plain().wrap("a  b", 2), "a  b\n");
    }
}
