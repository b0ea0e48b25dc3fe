//! Helpers of the plot tests: temporary output directories and a small
//! SVG checker.

use std::path::PathBuf;

use plotters::style::RGBColor;

/// A fresh directory under the system temp dir for one test, removed
/// when dropped.
pub(crate) struct OutDir(pub(crate) PathBuf);

impl OutDir {
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn out_dir(test: &str) -> OutDir {
    let dir = std::env::temp_dir().join(format!("splitflow-plot-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    OutDir(dir)
}

/// Checks that `svg` is one balanced `<svg>` element and returns the
/// contents of its `<text>` elements.
pub(crate) fn well_formed(svg: &str) -> Vec<String> {
    assert!(svg.starts_with("<svg "), "does not start with <svg");
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "does not end with </svg>"
    );
    let mut stack: Vec<&str> = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg;
    let mut roots = 0;
    while let Some(i) = rest.find('<') {
        assert!(
            !rest[..i].contains('>'),
            "stray '>' in character data: {:?}",
            &rest[..i]
        );
        let j = i + rest[i..].find('>').expect("unterminated tag");
        let tag = &rest[i + 1..j];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag:?}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
        } else {
            let name = tag.split_whitespace().next().expect("empty tag");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes: {tag:?}"
            );
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name);
                if name == "text" {
                    let end = rest[j..].find("</text>").expect("unclosed <text>");
                    texts.push(rest[j + 1..j + end].trim().replace("&amp;", "&"));
                }
            }
        }
        rest = &rest[j + 1..];
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1, "more than one root element");
    texts
}

pub(crate) fn count(texts: &[String], s: &str) -> usize {
    texts.iter().filter(|t| t.as_str() == s).count()
}

/// Distinct stroke colours of `<polyline>` elements.
pub(crate) fn polyline_colours(svg: &str) -> Vec<String> {
    let mut colours: Vec<String> = svg
        .lines()
        .filter(|l| l.starts_with("<polyline"))
        .filter_map(|l| {
            let at = l.find("stroke=\"")? + 8;
            Some(l[at..at + l[at..].find('"')?].to_string())
        })
        .collect();
    colours.sort();
    colours.dedup();
    colours
}

pub(crate) fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}
