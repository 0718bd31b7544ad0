//! Search terms for text in Chinese and English, for every full-text index Fieldwork keeps
//! (ticket titles on the device now; the knowledge base later). Pure functions, no SQLite.
//!
//! SQLite's FTS5 `unicode61` tokenizer splits on spaces and punctuation and folds case, which
//! suits English, but it keeps a run of Chinese characters as one token (Chinese has no spaces),
//! and the `trigram` tokenizer never matches a two-character query such as 空调 or 打印 — most
//! Chinese words. So text is turned into terms first, the way Lucene's CJK analyzer does, with no
//! dictionary (nothing to ship on the phone): Latin-script words stay words, and each run of CJK
//! characters becomes its single characters and its overlapping bigrams. A query is split the
//! same way; a Chinese query of two or more characters must contain all its bigrams.
//!
//! ```
//! use fieldwork_core::search::{index_terms, match_expression};
//! assert_eq!(index_terms("POS 打印机 jam"), "pos 打 打印 印 印机 机 jam");
//! assert_eq!(match_expression("打印").as_deref(), Some("\"打印\""));
//! assert_eq!(match_expression("print").as_deref(), Some("\"print\"*"));
//! ```

/// Most terms taken from one query (a pasted paragraph is not a search).
const MAX_QUERY_TERMS: usize = 16;

/// Whether `c` is written without spaces between words: Chinese, Japanese kana, Korean.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F  // CJK Extensions B and later, compatibility supplement
    )
}

/// One piece of text as the index sees it.
#[derive(Debug, PartialEq, Eq)]
enum Run {
    /// A lowercased word of letters and digits.
    Word(String),
    /// A run of CJK characters.
    Cjk(Vec<char>),
}

fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
        }
    }
    if !word.is_empty() {
        out.push(Run::Word(word));
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    out
}

/// The terms to index for `text`, separated by spaces, for an FTS5 column with the `unicode61`
/// tokenizer: each word, and each CJK character followed by the bigram it starts.
pub fn index_terms(text: &str) -> String {
    let mut terms = IndexTerms::new(usize::MAX);
    terms.line(text);
    terms.finish()
}

/// [`index_terms`] of lines of text written one after another, without joining them first: what
/// a ticket's search text is made of (its title, its description, each note). At most `limit`
/// characters are taken, each line's end counting as one; the rest is left out. Each term is
/// written straight into one string as its last character is read.
#[derive(Debug)]
pub struct IndexTerms {
    terms: String,
    /// The word being read, lowercased.
    word: String,
    /// The CJK character before this one in the same run: the bigram it starts is written with
    /// the next.
    previous_cjk: Option<char>,
    left: usize,
}

impl IndexTerms {
    /// Terms of at most `limit` characters of text.
    pub fn new(limit: usize) -> Self {
        IndexTerms {
            terms: String::new(),
            word: String::new(),
            previous_cjk: None,
            left: limit,
        }
    }

    /// Takes `text` as the next line, as far as the limit goes.
    pub fn line(&mut self, text: &str) {
        if self.left == 0 {
            return;
        }
        for c in text.chars() {
            if self.left == 0 {
                break;
            }
            self.left -= 1;
            self.char(c);
        }
        if self.left > 0 {
            self.left -= 1;
            self.char('\n');
        }
    }

    fn char(&mut self, c: char) {
        if is_cjk(c) {
            self.end_word();
            if let Some(previous) = self.previous_cjk {
                self.start_term();
                self.terms.push(previous);
                self.terms.push(c);
            }
            self.start_term();
            self.terms.push(c);
            self.previous_cjk = Some(c);
        } else if c.is_alphanumeric() {
            self.previous_cjk = None;
            self.word.extend(c.to_lowercase());
        } else {
            self.end_word();
            self.previous_cjk = None;
        }
    }

    fn start_term(&mut self) {
        if !self.terms.is_empty() {
            self.terms.push(' ');
        }
    }

    fn end_word(&mut self) {
        if !self.word.is_empty() {
            self.start_term();
            self.terms.push_str(&self.word);
            self.word.clear();
        }
    }

    /// The terms, separated by spaces.
    pub fn finish(mut self) -> String {
        self.end_word();
        self.terms
    }
}

/// Words too common to say what a text is about.
const STOP_WORDS: &[&str] = &[
    "and", "are", "but", "can", "does", "for", "from", "has", "have", "not", "the", "this", "that",
    "was", "were", "will", "with", "won", "you", "your",
];

/// What a text is about, for comparing two texts (knowledge-base suggestions): its words of three
/// or more letters that are not [`STOP_WORDS`], and the bigrams of its CJK runs (single CJK
/// characters say too little).
pub fn keywords(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for run in runs(text) {
        match run {
            Run::Word(word) => {
                if word.chars().count() >= 3 && !STOP_WORDS.contains(&word.as_str()) {
                    out.insert(word);
                }
            }
            Run::Cjk(chars) => {
                out.extend(chars.windows(2).map(|pair| pair.iter().collect::<String>()));
            }
        }
    }
    out
}

/// One term an index is asked for: an exact term, or (for a word) any term starting with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexTerm {
    pub text: String,
    pub prefix: bool,
}

/// The index terms a text must all have to match `query` (at most 16; a pasted paragraph is not
/// a search): each word as a prefix, a single CJK character, or each bigram of a longer CJK run.
pub fn query_terms(query: &str) -> Vec<IndexTerm> {
    let mut terms: Vec<IndexTerm> = Vec::new();
    for run in runs(query) {
        match run {
            Run::Word(text) => terms.push(IndexTerm { text, prefix: true }),
            Run::Cjk(chars) if chars.len() == 1 => terms.push(IndexTerm {
                text: chars[0].to_string(),
                prefix: false,
            }),
            Run::Cjk(chars) => terms.extend(chars.windows(2).map(|pair| IndexTerm {
                text: pair.iter().collect(),
                prefix: false,
            })),
        }
    }
    terms.truncate(MAX_QUERY_TERMS);
    terms.dedup();
    terms
}

/// An FTS5 `MATCH` expression finding text that has every one of [`query_terms`]; `None` when
/// the query has nothing searchable (only punctuation or spaces). Terms are quoted, so nothing in
/// a query is FTS5 syntax.
pub fn match_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = query_terms(query)
        .into_iter()
        .map(|t| format!("\"{}\"{}", t.text, if t.prefix { "*" } else { "" }))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// A query taken apart once, to test many texts against (a list query tests every row it scans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Lowercased words, each of which must start a word of the text.
    words: Vec<String>,
    /// CJK runs, each of which must appear in the text as written.
    cjk: Vec<String>,
}

impl SearchQuery {
    pub fn parse(query: &str) -> Self {
        let mut parsed = SearchQuery {
            words: Vec::new(),
            cjk: Vec::new(),
        };
        for run in runs(query) {
            match run {
                Run::Word(word) => parsed.words.push(word),
                Run::Cjk(chars) => parsed.cjk.push(chars.into_iter().collect()),
            }
        }
        parsed
    }

    /// What to look for in a text, lowercased: the query's words, then its CJK runs.
    pub fn needles(&self) -> Vec<&str> {
        self.words
            .iter()
            .chain(&self.cjk)
            .map(String::as_str)
            .collect()
    }

    /// Whether `text` matches exactly as a search means it: every word of the query starts a
    /// word of the text (`print` finds "Printer jam", `rinter` does not), and every CJK run of
    /// the query appears in the text as written (`制冷` finds "空调不制冷"). What
    /// [`match_expression`] finds in an index is a superset of this, so an index narrows and
    /// this confirms. A query with nothing searchable matches everything.
    pub fn matches(&self, text: &str) -> bool {
        if text.is_ascii() && self.cjk.is_empty() {
            return self.words.iter().all(|word| ascii_word_start(text, word));
        }
        let lowered = text.to_lowercase();
        self.cjk.iter().all(|run| lowered.contains(run.as_str()))
            && self.words.iter().all(|word| {
                lowered.match_indices(word.as_str()).any(|(at, _)| {
                    // A word starts where the text starts, after a CJK character, or after
                    // anything that is not a letter or digit (as `runs` splits words).
                    lowered[..at]
                        .chars()
                        .next_back()
                        .is_none_or(|before| is_cjk(before) || !before.is_alphanumeric())
                })
            })
    }
}

/// Whether lowercase `word` starts a word of ASCII `text`, ignoring case, without allocating
/// (most titles a list scans are ASCII).
fn ascii_word_start(text: &str, word: &str) -> bool {
    let (text, word) = (text.as_bytes(), word.as_bytes());
    if word.is_empty() || word.len() > text.len() {
        return word.is_empty();
    }
    (0..=text.len() - word.len()).any(|at| {
        (at == 0 || !text[at - 1].is_ascii_alphanumeric())
            && text[at..at + word.len()].eq_ignore_ascii_case(word)
    })
}

/// [`SearchQuery::matches`] for one text.
pub fn matches(text: &str, query: &str) -> bool {
    SearchQuery::parse(query).matches(text)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The terms as first written: the text's runs, then each run's terms, joined.
    fn terms_of_runs(text: &str) -> String {
        let mut terms: Vec<String> = Vec::new();
        for run in runs(text) {
            match run {
                Run::Word(word) => terms.push(word),
                Run::Cjk(chars) => {
                    for (i, c) in chars.iter().enumerate() {
                        terms.push(c.to_string());
                        if let Some(next) = chars.get(i + 1) {
                            terms.push([*c, *next].iter().collect());
                        }
                    }
                }
            }
        }
        terms.join(" ")
    }

    /// Lines joined, one per line, cut at `limit` characters (each line's end counting one).
    fn joined(lines: &[String], limit: usize) -> String {
        let mut text = String::new();
        let mut left = limit;
        for line in lines {
            let kept: String = line.chars().take(left).collect();
            left -= kept.chars().count();
            text.push_str(&kept);
            if left == 0 {
                break;
            }
            text.push('\n');
            left -= 1;
        }
        text
    }

    proptest! {
        #[test]
        fn terms_written_line_by_line_are_the_terms_of_the_lines_joined_and_cut(
            lines in prop::collection::vec("[a-zA-Z0-9 ,.#\\-Ææß空调不制冷打印机卡纸ぁ한]{0,24}", 0..8),
            limit in 0usize..120,
        ) {
            let mut terms = IndexTerms::new(limit);
            for line in &lines {
                terms.line(line);
            }
            let text = joined(&lines, limit);
            prop_assert_eq!(terms.finish(), terms_of_runs(&text));
            prop_assert_eq!(index_terms(&text), terms_of_runs(&text));
        }
    }

    #[test]
    fn keywords_are_longer_words_and_chinese_bigrams() {
        let words: Vec<String> = keywords("The POS printer won't print: 打印机卡纸 of it")
            .into_iter()
            .collect();
        assert_eq!(
            words,
            ["pos", "print", "printer", "卡纸", "印机", "打印", "机卡"]
        );
        assert!(keywords("a 的 it").is_empty());
    }

    #[test]
    fn english_words_are_lowercased_and_split_on_punctuation() {
        assert_eq!(
            index_terms("Freezer #3: TEMP-alarm!"),
            "freezer 3 temp alarm"
        );
        assert_eq!(
            match_expression("Freezer temp").as_deref(),
            Some("\"freezer\"* AND \"temp\"*")
        );
    }

    #[test]
    fn chinese_runs_become_characters_and_bigrams() {
        assert_eq!(
            index_terms("空调不制冷"),
            "空 空调 调 调不 不 不制 制 制冷 冷"
        );
        assert_eq!(
            match_expression("不制冷").as_deref(),
            Some("\"不制\" AND \"制冷\"")
        );
        assert_eq!(match_expression("冷").as_deref(), Some("\"冷\""));
    }

    #[test]
    fn mixed_text_keeps_both_scripts_apart() {
        assert_eq!(index_terms("POS机卡纸"), "pos 机 机卡 卡 卡纸 纸");
        assert_eq!(
            match_expression("pos 卡纸").as_deref(),
            Some("\"pos\"* AND \"卡纸\"")
        );
    }

    #[test]
    fn matching_means_word_starts_and_chinese_as_written() {
        assert!(matches("POS printer jammed", "print JAM"));
        assert!(
            !matches("POS printer jammed", "rinter"),
            "not inside a word"
        );
        assert!(matches("空调不制冷", "制冷"));
        assert!(matches("空调不制冷", "空调 冷"));
        assert!(
            !matches("制冷不空调", "空调制冷"),
            "bigrams present, text not as written"
        );
        assert!(matches("冷柜POS机", "pos机"));
        assert!(
            matches("anything", "  ?? "),
            "nothing searchable matches everything"
        );
        assert!(matches("A/C unit: 空调fan", "fan 空调 unit c"));
        assert!(!matches("Refan", "fan"));
        assert!(matches("Ticket 12 SCALE fault", "scale fau"));
        assert!(!matches("Ticket 12 rescale", "scale"));
        assert!(matches("Ticket", "t"));
    }

    #[test]
    fn queries_with_nothing_searchable_or_fts_syntax_are_harmless() {
        assert_eq!(match_expression("  -- ** \" "), None);
        // Quotes, operators and parentheses never reach FTS5 as syntax.
        assert_eq!(
            match_expression("a\" OR (b) NOT c*").as_deref(),
            Some("\"a\"* AND \"or\"* AND \"b\"* AND \"not\"* AND \"c\"*")
        );
        let long = "word ".repeat(100);
        assert_eq!(match_expression(&long).as_deref(), Some("\"word\"*"));
    }
}
