//! Tabular output as Open vSwitch's `lib/table.c` prints it: `--format=list`
//! (default for `list`/`find`), `table`, `csv`, `json`, `html`, with cells as
//! `--data=string` (OVS text syntax), `bare` or `json`; `--bare` is list format,
//! bare cells, no headings.

use ovsdb::Datum;
use ovsdb::schema::ColumnType;
use serde_json::{Value, json};

use crate::CtlError;
use crate::value_parse::{datum_to_bare, datum_to_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    List,
    Html,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellFormat {
    String,
    Bare,
    Json,
}

#[derive(Debug, Clone)]
pub struct Style {
    pub format: Format,
    pub cell: CellFormat,
    pub headings: bool,
    pub pretty: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            format: Format::List,
            cell: CellFormat::String,
            headings: true,
            pretty: false,
        }
    }
}

impl Style {
    pub fn parse_format(&mut self, s: &str) -> Result<(), CtlError> {
        self.format = match s {
            "table" => Format::Table,
            "list" => Format::List,
            "html" => Format::Html,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return Err(CtlError::msg(format!("unknown output format \"{s}\""))),
        };
        Ok(())
    }

    pub fn parse_cell_format(&mut self, s: &str) -> Result<(), CtlError> {
        self.cell = match s {
            "string" => CellFormat::String,
            "bare" => CellFormat::Bare,
            "json" => CellFormat::Json,
            _ => return Err(CtlError::msg(format!("unknown data format \"{s}\""))),
        };
        Ok(())
    }

    /// `--bare`.
    pub fn set_bare(&mut self) {
        self.format = Format::List;
        self.cell = CellFormat::Bare;
        self.headings = false;
    }
}

#[derive(Debug, Clone)]
pub enum Cell {
    Datum(Datum, Box<ColumnType>),
    Text(String),
}

impl Cell {
    fn text(&self, style: &Style) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Datum(d, ty) => match style.cell {
                CellFormat::String => datum_to_string(d, ty),
                CellFormat::Bare => datum_to_bare(d),
                CellFormat::Json => d.to_json().to_string(),
            },
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(t) => json!(t),
            Cell::Datum(d, _) => d.to_json(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Prints the table; `index` counts the tables printed before it by this process
    /// (each but the first is preceded by a blank line, as OVS does).
    pub fn render(&self, style: &Style, index: usize) -> String {
        let mut out = String::new();
        let sep = index > 0;
        match style.format {
            Format::Table => {
                if sep {
                    out.push('\n');
                }
                let texts: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.text(style)).collect())
                    .collect();
                let widths: Vec<usize> = self
                    .headings
                    .iter()
                    .enumerate()
                    .map(|(x, h)| {
                        texts
                            .iter()
                            .map(|r| r[x].chars().count())
                            .chain([h.chars().count()])
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                let line = |cells: &[String]| {
                    let s: Vec<String> = cells
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c:<w$}"))
                        .collect();
                    s.join(" ").trim_end_matches(' ').to_string() + "\n"
                };
                if style.headings {
                    out += &line(&self.headings);
                    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                    out += &line(&dashes);
                }
                for r in &texts {
                    out += &line(r);
                }
            }
            Format::List => {
                if sep {
                    out.push('\n');
                }
                for (y, row) in self.rows.iter().enumerate() {
                    if y > 0 {
                        out.push('\n');
                    }
                    for (h, c) in self.headings.iter().zip(row) {
                        if style.headings {
                            out += &format!("{h:<20}: ");
                        }
                        out += &c.text(style);
                        out.push('\n');
                    }
                }
            }
            Format::Csv => {
                if sep {
                    out.push('\n');
                }
                if style.headings {
                    let h: Vec<String> = self.headings.iter().map(|h| csv_cell(h)).collect();
                    out += &(h.join(",") + "\n");
                }
                for row in &self.rows {
                    let r: Vec<String> = row.iter().map(|c| csv_cell(&c.text(style))).collect();
                    out += &(r.join(",") + "\n");
                }
            }
            Format::Json => {
                let data: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|r| Value::Array(r.iter().map(Cell::json).collect()))
                    .collect();
                let v = json!({"data": data, "headings": self.headings});
                out += &if style.pretty {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    v.to_string()
                };
                out.push('\n');
            }
            Format::Html => {
                out += "<table border=1>\n";
                if style.headings {
                    out += "  <tr>\n";
                    for h in &self.headings {
                        out += &format!("    <th>{}</th>\n", html_escape(h));
                    }
                    out += "  </tr>\n";
                }
                for row in &self.rows {
                    out += "  <tr>\n";
                    for c in row {
                        out += &format!("    <td>{}</td>\n", html_escape(&c.text(style)));
                    }
                    out += "  </tr>\n";
                }
                out += "</table>\n";
            }
        }
        out
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains(['\n', '"', ',']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::schema::AtomicType;

    fn sample() -> Table {
        let s = Box::new(ColumnType::scalar(AtomicType::String));
        Table {
            headings: vec!["name".into(), "type".into()],
            rows: vec![
                vec![
                    Cell::Datum(Datum::string("ls1"), s.clone()),
                    Cell::Datum(Datum::string(""), s.clone()),
                ],
                vec![
                    Cell::Datum(Datum::string("a,b"), s.clone()),
                    Cell::Datum(Datum::string("router"), s),
                ],
            ],
        }
    }

    #[test]
    fn list_format() {
        let out = sample().render(&Style::default(), 0);
        assert_eq!(
            out,
            "name                : ls1\ntype                : \"\"\n\nname                : \"a,b\"\ntype                : router\n"
        );
        let mut bare = Style::default();
        bare.set_bare();
        assert_eq!(sample().render(&bare, 1), "\nls1\n\n\na,b\nrouter\n");
    }

    #[test]
    fn table_csv_json_formats() {
        let mut st = Style::default();
        st.parse_format("table").unwrap();
        assert_eq!(
            sample().render(&st, 0),
            "name  type\n----- ------\nls1   \"\"\n\"a,b\" router\n"
        );
        st.parse_format("csv").unwrap();
        assert_eq!(
            sample().render(&st, 0),
            "name,type\nls1,\"\"\"\"\"\"\n\"\"\"a,b\"\"\",router\n"
        );
        st.parse_format("json").unwrap();
        assert_eq!(
            sample().render(&st, 0),
            "{\"data\":[[\"ls1\",\"\"],[\"a,b\",\"router\"]],\"headings\":[\"name\",\"type\"]}\n"
        );
        assert!(st.parse_format("bare").is_err());
    }
}
