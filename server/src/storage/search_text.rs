//! Text search that works for Chinese as well as English, in any backend's full-text index that
//! splits on spaces and punctuation (SQLite FTS5's `unicode61`; PostgreSQL's `simple`). Chinese
//! has no spaces between words, and the words people search for are mostly two characters (空调,
//! 打印), so a run of CJK characters is written as its overlapping pairs ("打印机坏了" → "打印
//! 印机 机坏 坏了") — what Lucene's CJK analyzer does, no dictionary needed. A query is split the
//! same way and its pairs must appear in order, next to each other (a phrase). Other text is
//! lower-cased words. Pure functions: no I/O.

/// Whether `c` is written without spaces between words (CJK ideographs, kana, hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B–F and supplements
}

/// The pieces of `text`: words of other scripts (lower-cased), and each run of CJK characters as
/// a list of its characters.
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_word = |word: &mut String, out: &mut Vec<Piece>| {
        if !word.is_empty() {
            out.push(Piece::Word(std::mem::take(word)));
        }
    };
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<Piece>| {
        if !run.is_empty() {
            out.push(Piece::Cjk(std::mem::take(run)));
        }
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut out);
            flush_run(&mut run, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_run(&mut run, &mut out);
    out
}

enum Piece {
    Word(String),
    Cjk(Vec<char>),
}

fn pairs(run: &[char]) -> Vec<String> {
    if run.len() == 1 {
        return vec![run[0].to_string()];
    }
    run.windows(2).map(|w| w.iter().collect()).collect()
}

/// `text` as it is indexed: words, and CJK runs as overlapping pairs, separated by spaces.
pub fn index_text(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for piece in pieces(text) {
        match piece {
            Piece::Word(word) => out.push(word),
            Piece::Cjk(run) => out.extend(pairs(&run)),
        }
    }
    out.join(" ")
}

/// Most terms a query may have: a longer one is cut (nobody types more into a search box).
const MAX_TERMS: usize = 16;

/// A search box's text as a full-text query in FTS5's syntax: every term must match (AND); a
/// word matches words starting with it; a CJK run matches its pairs as a phrase (a single CJK
/// character matches pairs starting with it). `None` when nothing searchable is left.
pub fn match_query(text: &str) -> Option<String> {
    let mut terms = Vec::new();
    for piece in pieces(text).into_iter().take(MAX_TERMS) {
        match piece {
            Piece::Word(word) => terms.push(format!("\"{word}\"*")),
            Piece::Cjk(run) if run.len() == 1 => terms.push(format!("\"{}\"*", run[0])),
            Piece::Cjk(run) => terms.push(format!("\"{}\"", pairs(&run).join(" "))),
        }
    }
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_runs_become_overlapping_pairs_and_words_lower_case() {
        assert_eq!(index_text("打印机坏了"), "打印 印机 机坏 坏了");
        assert_eq!(
            index_text("POS打印机 Printer-Jam, 3号"),
            "pos 打印 印机 printer jam 3 号"
        );
        assert_eq!(index_text("冷"), "冷");
        assert_eq!(index_text("  ...  "), "");
    }

    #[test]
    fn queries_are_phrases_of_pairs_and_word_prefixes() {
        assert_eq!(match_query("打印机").as_deref(), Some("\"打印 印机\""));
        assert_eq!(
            match_query("空调 Fridge").as_deref(),
            Some("\"空调\" AND \"fridge\"*")
        );
        assert_eq!(match_query("修").as_deref(), Some("\"修\"*"));
        assert_eq!(
            match_query("\" OR * NEAR(").as_deref(),
            Some("\"or\"* AND \"near\"*")
        );
        assert_eq!(match_query("!!!"), None);
        let many = "a ".repeat(100);
        assert_eq!(
            match_query(&many).expect("query").matches("AND").count(),
            MAX_TERMS - 1
        );
    }
}
