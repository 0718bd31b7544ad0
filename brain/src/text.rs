//! Keyword matching for classification and rule conditions, in Chinese and English: case and
//! full-width forms folded; an English keyword matches whole words only (so `pos` does not match
//! "position"), a Chinese one anywhere (Chinese has no spaces between words).

use std::cell::RefCell;
use std::collections::BTreeMap;

/// How much of a field is read: a description longer than this is judged on its beginning, so a
/// huge ticket cannot make classification expensive.
pub const MAX_TEXT_CHARS: usize = 16 * 1024;

/// A keyword ready to match: folded, with whether each end must sit at a word boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    folded: String,
    boundary_start: bool,
    boundary_end: bool,
}

impl Keyword {
    /// A keyword from configuration text; `None` if it folds to nothing.
    pub fn new(text: &str) -> Option<Keyword> {
        let folded = fold(text.trim());
        let first = folded.chars().next()?;
        let last = folded.chars().last()?;
        Some(Keyword {
            boundary_start: is_word_char(first),
            boundary_end: is_word_char(last),
            folded,
        })
    }

    /// The folded form (for messages and reasons).
    pub fn as_str(&self) -> &str {
        &self.folded
    }

    /// Whether the keyword occurs in `haystack`, which must be [`fold`]ed.
    pub fn is_in(&self, haystack: &str) -> bool {
        let mut from = 0;
        while let Some(found) = haystack[from..].find(&self.folded) {
            let start = from + found;
            let end = start + self.folded.len();
            let before_ok = !self.boundary_start
                || haystack[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !is_word_char(c));
            let after_ok = !self.boundary_end
                || haystack[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| !is_word_char(c));
            if before_ok && after_ok {
                return true;
            }
            // Move past the first character of this occurrence.
            let step = haystack[start..].chars().next().map_or(1, char::len_utf8);
            from = start + step;
        }
        false
    }
}

/// Title and description of a ticket, folded once and shared by every rule.
#[derive(Debug, Clone)]
pub struct TicketText {
    /// Title, a line break and the description, both capped at [`MAX_TEXT_CHARS`]: what
    /// regexes read.
    raw: String,
    /// The same, folded: what keywords read.
    folded: String,
    /// Results of keyword conditions already judged in this call: the text does not change
    /// while a rule chain runs, so each condition scans it once however often rules restart.
    memo: RefCell<BTreeMap<usize, Option<String>>>,
}

impl TicketText {
    /// Folds the title and the beginning of the description; a line break keeps a keyword from
    /// spanning the two.
    pub fn new(title: &str, description: &str) -> Self {
        let title: String = title.chars().take(MAX_TEXT_CHARS).collect();
        let description: String = description.chars().take(MAX_TEXT_CHARS).collect();
        let raw = format!("{title}\n{description}");
        TicketText {
            folded: fold(&raw),
            raw,
            memo: RefCell::new(BTreeMap::new()),
        }
    }

    /// The result of `judge` for the condition identified by `key`, computed once.
    pub(crate) fn remember(
        &self,
        key: usize,
        judge: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        if let Some(known) = self.memo.borrow().get(&key) {
            return known.clone();
        }
        let result = judge();
        self.memo.borrow_mut().insert(key, result.clone());
        result
    }

    /// The text as written (capped).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.folded
    }

    /// Whether any keyword occurs; the first that does.
    pub fn find_any<'k>(&self, keywords: &'k [Keyword]) -> Option<&'k Keyword> {
        keywords.iter().find(|k| k.is_in(&self.folded))
    }

    /// Whether every keyword occurs (true for an empty list).
    pub fn has_all(&self, keywords: &[Keyword]) -> bool {
        keywords.iter().all(|k| k.is_in(&self.folded))
    }
}

/// Lower case, and full-width ASCII (ＰＯＳ，ｐｏｓ — common in Chinese input methods) as
/// ordinary ASCII; the ideographic space as a space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            // The full-width forms of '!'..='~' sit at a fixed distance from ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Letters and digits of alphabetic scripts: what an English word is made of. CJK ideographs,
/// kana and hangul are not (a Chinese keyword matches inside a run of characters).
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() && !is_cjk(c)
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF      // kana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x3134F) // extensions B–G
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &str) -> TicketText {
        TicketText::new(title, "")
    }

    fn kw(k: &str) -> Keyword {
        Keyword::new(k).expect("keyword is not empty")
    }

    #[test]
    fn english_keywords_match_whole_words_in_any_case() {
        assert!(kw("POS").is_in(text("The pos printer jams").as_str()));
        assert!(kw("pos").is_in(text("POS-3 offline").as_str()));
        assert!(!kw("pos").is_in(text("position unknown").as_str()));
        assert!(!kw("pos").is_in(text("repos").as_str()));
        assert!(kw("printer jam").is_in(text("Printer JAM again").as_str()));
    }

    #[test]
    fn chinese_keywords_match_inside_a_sentence() {
        assert!(kw("打印机").is_in(text("收银台打印机卡纸").as_str()));
        assert!(kw("漏水").is_in(text("空调漏水了").as_str()));
        assert!(!kw("漏电").is_in(text("空调漏水了").as_str()));
        // A Latin word next to Chinese characters is still a whole word.
        assert!(kw("pos").is_in(text("收银POS机坏了").as_str()));
    }

    #[test]
    fn full_width_letters_count_as_ascii() {
        assert!(kw("pos").is_in(text("ＰＯＳ机故障").as_str()));
        assert_eq!(fold("Ａｂｃ１"), "abc1");
    }

    #[test]
    fn any_and_all() {
        let t = TicketText::new("Scooter battery", "电池 does not charge");
        let any = [kw("brake"), kw("电池")];
        assert_eq!(t.find_any(&any).map(Keyword::as_str), Some("电池"));
        assert!(t.has_all(&[kw("battery"), kw("charge")]));
        assert!(!t.has_all(&[kw("battery"), kw("brake")]));
        assert!(Keyword::new("   ").is_none());
    }

    #[test]
    fn a_keyword_does_not_span_title_and_description() {
        let t = TicketText::new("printer", "jam");
        assert!(!kw("printer jam").is_in(t.as_str()));
    }
}
