//! An owned, line-numbered element tree of a submitted document.
//!
//! libxml2 decides well-formedness and schema validity, but its Rust binding does not expose
//! node line numbers, which every business-rule error must carry. So after libxml2 accepted the
//! document, quick-xml builds this small tree: element names, attributes, text and the line each
//! element starts on, plus a path (`report/victim[2]/victimPerson/age`) that the rules and the
//! schema-error mapper use to name the offending element.
//!
//! The tree never expands entities: only the five predefined ones and character references are
//! resolved. A DOCTYPE (the carrier of XXE and billion-laughs payloads) is refused outright:
//! no CyberTipline document has one.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Why a body could not be turned into an element tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The body is not UTF-8 (the API documentation requires UTF-8).
    #[error("the document is not valid UTF-8 (only UTF-8 submittals are accepted)")]
    NotUtf8,
    /// A `<!DOCTYPE>` declaration: refused so no entity can ever be defined or expanded.
    #[error("line {line}: DOCTYPE declarations are not allowed (entity definitions are refused)")]
    Doctype {
        /// 1-based line of the declaration.
        line: u32,
    },
    /// An entity reference other than the five predefined XML entities.
    #[error("line {line}: reference to undeclared entity '&{name};'")]
    UndeclaredEntity {
        /// The entity name.
        name: String,
        /// 1-based line of the reference.
        line: u32,
    },
    /// The XML declaration names an encoding other than UTF-8 (or its subset US-ASCII).
    #[error(
        "line {line}: encoding '{encoding}' is not accepted (only UTF-8 submittals are accepted)"
    )]
    Encoding {
        /// The declared encoding.
        encoding: String,
        /// 1-based line of the declaration.
        line: u32,
    },
    /// Anything else quick-xml found wrong (libxml2 normally reports these first).
    #[error("line {line}: {message}")]
    Syntax {
        /// What is wrong.
        message: String,
        /// 1-based line.
        line: u32,
    },
    /// The document has no root element.
    #[error("the document has no root element")]
    NoRoot,
    /// Elements nested deeper than [`MAX_DEPTH`].
    #[error("line {line}: elements are nested deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// 1-based line.
        line: u32,
    },
}

/// Deepest nesting accepted; the schema's deepest path is under 10 levels, so this only stops
/// hostile input from building pathological trees.
pub const MAX_DEPTH: usize = 64;

/// One element of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Local element name (the schema has no namespace; prefixes are kept as written).
    pub name: String,
    /// Attributes in document order (name as written, value normalised per XML 1.0).
    pub attributes: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Concatenated character data directly inside this element (text and CDATA).
    pub text: String,
    /// 1-based line of the start tag.
    pub line: u32,
    /// Path from the root, e.g. `report/personOrUserReported[2]/ipCaptureEvent`. An index is
    /// present only when the parent has more than one child of that name.
    pub path: String,
}

impl Element {
    /// The first child of that name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children of that name, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The value of an attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Visits this element and all descendants, depth first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Element)) {
        visit(self);
        for c in &self.children {
            c.walk(visit);
        }
    }
}

/// Path → line of every element, so a rule naming a path can also give the line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    lines: HashMap<String, u32>,
}

impl SourceMap {
    /// Builds the map from a tree.
    pub fn of(root: &Element) -> Self {
        let mut lines = HashMap::new();
        root.walk(&mut |e| {
            lines.insert(e.path.clone(), e.line);
        });
        SourceMap { lines }
    }

    /// The line of the element at `path`; for an attribute path (`…/@name`) or a path to an
    /// element that is absent, the line of the nearest present ancestor.
    pub fn line_of(&self, path: &str) -> Option<u32> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind('/')?;
            p = &p[..cut];
        }
    }
}

/// Checks the prolog before any XML parser that could act on it sees the body: refuses a
/// DOCTYPE, and a declared encoding other than UTF-8 (libxml2 would decode such a body
/// differently from the UTF-8 tree). Scans only up to the root start tag; syntax errors there
/// are left for libxml2 to report with its own message.
pub fn check_prolog(xml: &[u8]) -> Result<(), TreeError> {
    let text = std::str::from_utf8(xml).map_err(|_| TreeError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut lines = LineIndex::new(text);
    loop {
        let start = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::DocType(_)) => {
                return Err(TreeError::Doctype {
                    line: lines.line_at(start),
                })
            }
            Ok(Event::Decl(d)) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let e = enc.trim().to_ascii_lowercase();
                    if !matches!(e.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(TreeError::Encoding {
                            encoding: enc.into_owned(),
                            line: lines.line_at(start),
                        });
                    }
                }
            }
            Ok(Event::Start(_) | Event::Empty(_) | Event::Eof) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// Parses `xml` into an element tree. Call only after libxml2 found the document well-formed:
/// this parser is for structure and line numbers, not the authority on well-formedness.
pub fn parse(xml: &[u8]) -> Result<Element, TreeError> {
    let text = std::str::from_utf8(xml).map_err(|_| TreeError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut lines = LineIndex::new(text);
    // Open elements; the bottom one becomes the root.
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| TreeError::Syntax {
            message: e.to_string(),
            line: lines.line_at(reader.error_position()),
        })?;
        let line = lines.line_at(start);
        match event {
            Event::DocType(_) => return Err(TreeError::Doctype { line }),
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(TreeError::TooDeep { line });
                }
                stack.push(open(&s, line)?);
            }
            Event::Empty(s) => {
                let e = open(&s, line)?;
                attach(&mut stack, &mut root, e, line)?;
            }
            Event::End(_) => {
                let e = stack.pop().ok_or_else(|| TreeError::Syntax {
                    message: "unexpected end tag".into(),
                    line,
                })?;
                attach(&mut stack, &mut root, e, line)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*r.xml10_content() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => {
                            return Err(TreeError::UndeclaredEntity {
                                name: other.to_string(),
                                line,
                            })
                        }
                    },
                    Err(e) => {
                        return Err(TreeError::Syntax {
                            message: e.to_string(),
                            line,
                        })
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(TreeError::Syntax {
            message: "unclosed element at end of document".into(),
            line: lines.line_at(text.len() as u64),
        });
    }
    let mut root = root.ok_or(TreeError::NoRoot)?;
    let name = root.name.clone();
    assign_paths(&mut root, name);
    Ok(root)
}

fn open(s: &BytesStart<'_>, line: u32) -> Result<Element, TreeError> {
    let name = s.name();
    let name = name.as_ref().to_string();
    let mut attributes = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| TreeError::Syntax {
            message: e.to_string(),
            line,
        })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| TreeError::Syntax {
                message: e.to_string(),
                line,
            })?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
        line,
        path: String::new(),
    })
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    e: Element,
    line: u32,
) -> Result<(), TreeError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(e),
        None if root.is_none() => *root = Some(e),
        None => {
            return Err(TreeError::Syntax {
                message: "more than one root element".into(),
                line,
            })
        }
    }
    Ok(())
}

fn assign_paths(e: &mut Element, path: String) {
    e.path = path;
    // (ordinal among same-named siblings, number of same-named siblings) for every child.
    let positions: Vec<(usize, usize)> = {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let ordinals: Vec<usize> = e
            .children
            .iter()
            .map(|c| {
                let n = counts.entry(c.name.as_str()).or_default();
                *n += 1;
                *n
            })
            .collect();
        e.children
            .iter()
            .zip(ordinals)
            .map(|(c, o)| (o, counts.get(c.name.as_str()).copied().unwrap_or(1)))
            .collect()
    };
    let parent = e.path.clone();
    for (c, (ordinal, total)) in e.children.iter_mut().zip(positions) {
        let p = segment(&parent, &c.name, ordinal, total);
        assign_paths(c, p);
    }
}

/// The path of the `index`-th (1-based) of `total` children called `name` under `parent`:
/// the convention shared by the tree, the decoder and the rules.
pub fn segment(parent: &str, name: &str, index: usize, total: usize) -> String {
    if total > 1 {
        format!("{parent}/{name}[{index}]")
    } else {
        format!("{parent}/{name}")
    }
}

/// Byte offset → 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line_at(&mut self, offset: u64) -> u32 {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(idx + 1).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_paths_and_text() {
        let xml = b"<?xml version=\"1.0\"?>\n<a x=\"1 &amp; 2\">\n  <b>one &lt;&#65;</b>\n  <b><![CDATA[<two>]]></b>\n  <c/>\n</a>";
        let root = parse(xml).expect("well-formed");
        assert_eq!(root.name, "a");
        assert_eq!(root.line, 2);
        assert_eq!(root.attribute("x"), Some("1 & 2"));
        let bs: Vec<_> = root.children_named("b").collect();
        assert_eq!(bs[0].text, "one <A");
        assert_eq!(bs[0].path, "a/b[1]");
        assert_eq!(bs[1].text, "<two>");
        assert_eq!(bs[1].line, 4);
        let c = root.child("c").expect("c");
        assert_eq!(c.path, "a/c");
        let map = SourceMap::of(&root);
        assert_eq!(map.line_of("a/c"), Some(5));
        assert_eq!(map.line_of("a/c/@missing"), Some(5));
        assert_eq!(map.line_of("a/b[2]/nothing"), Some(4));
    }

    #[test]
    fn doctype_is_refused() {
        let xml = b"<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a>&x;</a>";
        assert_eq!(parse(xml), Err(TreeError::Doctype { line: 2 }));
    }

    #[test]
    fn undeclared_entity_is_refused() {
        assert!(matches!(
            parse(b"<a>&nope;</a>"),
            Err(TreeError::UndeclaredEntity { .. })
        ));
    }
}
