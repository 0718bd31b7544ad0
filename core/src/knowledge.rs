//! The knowledge base's rules as pure functions (`docs/knowledge-base.md`): who reads a published
//! article, which articles to suggest for a ticket, and the excerpt a search hit shows. The
//! server decides with [`reads_article`] what each device is sent; the device's store keeps and
//! searches what it got.

use std::cmp::Reverse;

pub use fieldwork_protocol::knowledge::{KbArticle, KbAudience, KbDelta};

use crate::model::Role;
use crate::search::{SearchQuery, keywords};

/// Whether someone with `role`, of `team`, reads a published article meant for `audience` and,
/// when set, only for `article_team`.
///
/// - The back office reads every published article.
/// - Technicians read articles for staff and for everyone, of their team or of no team.
/// - Riders and merchants read articles for everyone that are for no team; never internal ones.
/// - An audience this version does not know is read by the back office only.
pub fn reads_article(
    role: Role,
    team: Option<&str>,
    audience: KbAudience,
    article_team: Option<&str>,
) -> bool {
    if role.is_back_office() {
        return true;
    }
    let for_team = article_team.is_none_or(|wanted| team == Some(wanted));
    match role {
        Role::Technician => for_team && audience != KbAudience::Unknown,
        Role::Rider | Role::Merchant => audience == KbAudience::Everyone && article_team.is_none(),
        _ => false,
    }
}

/// An article as [`suggest`] weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub id: &'a str,
    pub category: Option<&'a str>,
    pub title: &'a str,
    pub tags: &'a [String],
    pub published_at: i64,
}

/// An article suggested for a ticket, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub id: String,
    /// Whether the article is of the ticket's category.
    pub same_category: bool,
    /// Keywords the article's title and tags share with the ticket's title and description.
    pub shared_keywords: Vec<String>,
}

impl Suggestion {
    /// A category match counts as much as two shared keywords.
    fn score(&self) -> usize {
        2 * usize::from(self.same_category) + self.shared_keywords.len()
    }
}

/// The articles worth showing on a ticket of `category` whose title and description are `text`:
/// those of the same category or sharing keywords ([`keywords`]) with it, best first (category
/// and shared keywords, then the newest), at most `limit`.
pub fn suggest<'a>(
    category: Option<&str>,
    text: &str,
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    limit: usize,
) -> Vec<Suggestion> {
    let wanted = keywords(text);
    let mut scored: Vec<(Suggestion, i64)> = candidates
        .into_iter()
        .filter_map(|c| {
            let mut about = keywords(c.title);
            for tag in c.tags {
                about.extend(keywords(tag));
            }
            let shared: Vec<String> = about.intersection(&wanted).cloned().collect();
            let same_category = category.is_some() && c.category == category;
            (same_category || !shared.is_empty()).then(|| {
                let suggestion = Suggestion {
                    id: c.id.to_owned(),
                    same_category,
                    shared_keywords: shared,
                };
                (suggestion, c.published_at)
            })
        })
        .collect();
    scored.sort_by(|(a, a_at), (b, b_at)| {
        (Reverse(a.score()), Reverse(*a_at), &a.id).cmp(&(
            Reverse(b.score()),
            Reverse(*b_at),
            &b.id,
        ))
    });
    scored.truncate(limit);
    scored.into_iter().map(|(s, _)| s).collect()
}

/// Most pictures one article shows that a device keeps.
pub const MAX_IMAGES_PER_ARTICLE: usize = 32;

/// The pictures an article's Markdown shows (`kb-image:SHA256`, the sha256 of a picture stored
/// through the API), each once, in order, at most [`MAX_IMAGES_PER_ARTICLE`].
pub fn images_in(markdown: &str) -> Vec<String> {
    const MARK: &str = "kb-image:";
    let mut out: Vec<String> = Vec::new();
    for (at, _) in markdown.match_indices(MARK) {
        let hex = &markdown[at + MARK.len()..];
        let Some(sha) = hex.get(..64) else { continue };
        if fieldwork_protocol::blobs::is_sha256_hex(sha) && !out.iter().any(|s| s == sha) {
            out.push(sha.to_owned());
            if out.len() == MAX_IMAGES_PER_ARTICLE {
                break;
            }
        }
    }
    out
}

/// Characters an excerpt shows.
const EXCERPT_CHARS: usize = 160;

/// A line's worth of `body` for a search hit: the stretch around the first place the query
/// matches (or the start), Markdown marks and line breaks flattened, `…` where it was cut.
pub fn excerpt(body: &str, query: &str) -> String {
    let flat: Vec<char> = body
        .split_whitespace()
        .map(|w| w.trim_matches(|c| matches!(c, '#' | '*' | '_' | '`' | '>')))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    let lower: Vec<char> = flat.iter().flat_map(|c| c.to_lowercase()).collect();
    // Lowercasing may change the length of some characters; then the excerpt starts at the top.
    let found = if lower.len() == flat.len() {
        SearchQuery::parse(query)
            .needles()
            .iter()
            .filter_map(|needle| {
                let needle: Vec<char> = needle.chars().collect();
                lower
                    .windows(needle.len().max(1))
                    .position(|w| w == needle.as_slice())
            })
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let start = found.saturating_sub(EXCERPT_CHARS / 4);
    let end = (start + EXCERPT_CHARS).min(flat.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&flat[start..end]);
    if end < flat.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_reads_what() {
        use KbAudience::{Everyone, Staff, Unknown};
        let cases = [
            (Role::Rider, None, Everyone, None, true),
            (Role::Rider, None, Staff, None, false),
            (Role::Merchant, None, Everyone, Some("north"), false),
            (Role::Technician, Some("north"), Staff, None, true),
            (Role::Technician, Some("north"), Staff, Some("north"), true),
            (
                Role::Technician,
                Some("north"),
                Everyone,
                Some("south"),
                false,
            ),
            (Role::Technician, None, Staff, Some("south"), false),
            (Role::Technician, None, Unknown, None, false),
            (Role::Agent, None, Staff, Some("south"), true),
            (Role::Supervisor, None, Unknown, None, true),
        ];
        for (role, team, audience, article_team, reads) in cases {
            assert_eq!(
                reads_article(role, team, audience, article_team),
                reads,
                "{role:?} of {team:?} reading {audience:?} for {article_team:?}"
            );
        }
    }

    fn candidate<'a>(
        id: &'a str,
        category: Option<&'a str>,
        title: &'a str,
        at: i64,
    ) -> Candidate<'a> {
        Candidate {
            id,
            category,
            title,
            tags: &[],
            published_at: at,
        }
    }

    #[test]
    fn suggestions_weigh_category_and_shared_keywords() {
        let tags = vec!["receipt printer".to_owned()];
        let candidates = [
            candidate("fridge", Some("refrigeration"), "冷柜不制冷怎么办", 1),
            candidate("jam", Some("printer"), "Clearing a paper jam", 2),
            Candidate {
                tags: &tags,
                ..candidate("thermal", None, "打印机打印空白", 3)
            },
            candidate("other", None, "Resetting the card reader", 4),
        ];
        let got = suggest(
            Some("printer"),
            "POS printer 打印空白 after paper change",
            candidates,
            5,
        );
        let ids: Vec<&str> = got.iter().map(|s| s.id.as_str()).collect();
        // thermal: 打印, 印空, 空白, printer (4); jam: category (2) and paper (1).
        assert_eq!(ids, ["thermal", "jam"]);
        assert!(got[1].same_category);
        assert_eq!(got[1].shared_keywords, ["paper"]);
        assert!(suggest(None, "nothing alike", candidates, 5).is_empty());
        assert_eq!(suggest(Some("printer"), "", candidates, 0), []);
    }

    #[test]
    fn equal_scores_put_the_newest_first() {
        let candidates = [
            candidate("old", Some("printer"), "a", 1),
            candidate("new", Some("printer"), "b", 9),
        ];
        let ids: Vec<String> = suggest(Some("printer"), "", candidates, 5)
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["new", "old"]);
    }

    #[test]
    fn an_articles_pictures_are_found_once_each_and_nothing_else() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let text = format!(
            "![tray](kb-image:{a}) and ![again](kb-image:{a})\n![](kb-image:{b}) kb-image:short \
             kb-image:{}",
            "Z".repeat(64)
        );
        assert_eq!(images_in(&text), [a, b]);
        assert!(images_in("no pictures").is_empty());
        assert!(images_in("kb-image:").is_empty());
        let many: String = (0..40).map(|i| format!("kb-image:{:064x} ", i)).collect();
        assert_eq!(images_in(&many).len(), MAX_IMAGES_PER_ARTICLE);
    }

    #[test]
    fn excerpts_start_near_the_match_and_say_where_they_were_cut() {
        let body = format!(
            "# Steps\n\n{} Then **open the cover** and pull the paper.",
            "x ".repeat(200)
        );
        let got = excerpt(&body, "cover");
        assert!(
            got.starts_with('…') && got.contains("open the cover"),
            "{got}"
        );
        assert!(!got.contains("**"), "{got}");
        assert_eq!(excerpt("短文：打开盖子。", "盖子"), "短文：打开盖子。");
        assert_eq!(excerpt("", "x"), "");
        let long = "word ".repeat(100);
        assert!(excerpt(&long, "nothing").ends_with('…'));
    }
}
