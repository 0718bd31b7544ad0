//! Every type in the back-office API's OpenAPI document has a name of its own. utoipa files
//! schemas under their type's name, so two types of one name (say the ticket's `AssetOut` and a
//! register's) would silently leave one schema describing both, and the document would lie about
//! one of them. This reads the sources of the crates whose types the document holds and checks
//! that no two `ToSchema` types share a name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names of the `ToSchema` types in `source`: the first `struct` or `enum` after a derive
/// that names `ToSchema`.
fn schema_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = false;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("#[") && line.contains("ToSchema") {
            pending = true;
            continue;
        }
        if pending {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(at) = words.iter().position(|w| *w == "struct" || *w == "enum") {
                if let Some(name) = words.get(at + 1) {
                    let name: String = name
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.push(name);
                }
                pending = false;
            }
        }
    }
    names
}

#[test]
fn no_two_schema_types_share_a_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("src"), root.join("../brain/src")] {
        rust_files(&dir, &mut files);
    }
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("a source file");
        for name in schema_names(&source) {
            seen.entry(name)
                .or_default()
                .push(file.display().to_string());
        }
    }
    assert!(
        seen.len() > 50,
        "the scan finds the API's types ({} found)",
        seen.len()
    );
    let shared: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(shared.is_empty(), "schema types sharing a name: {shared:?}");
}

#[test]
fn the_scan_reads_derives_as_written() {
    let source = "#[derive(Debug, Serialize, ToSchema)]\npub struct AssetOut {\n}\n\
                  #[cfg_attr(feature = \"openapi\", derive(utoipa::ToSchema))]\n#[serde(tag = \"x\")]\npub enum Kind<T> {}\n\
                  #[derive(Debug)]\nstruct Plain;\n";
    assert_eq!(schema_names(source), ["AssetOut", "Kind"]);
}
