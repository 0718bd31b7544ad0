//! `kb search`, `kb show`, `kb suggest`: the knowledge base this device holds, read offline
//! (`docs/knowledge-base.md`, "On devices").

use fieldwork_core::knowledge::{KbArticle, KbAudience};
use fieldwork_core::store::{KbHit, TicketStore};

use super::{CliError, KbCommand, Result};
use crate::output;

pub(super) fn run(store: &TicketStore, json: bool, command: KbCommand) -> Result<()> {
    match command {
        KbCommand::Search { text, limit } => hits(
            json,
            &store.kb_search(&text, limit)?,
            "no article on this device matches; sync to get the newest",
        ),
        KbCommand::Suggest { ticket, limit } => {
            let id = store.resolve_id(&ticket)?;
            hits(
                json,
                &store.kb_suggestions(&id, limit)?,
                "no article on this device is about this ticket's category or words",
            )
        }
        KbCommand::Show { id } => {
            let article = store.kb_article(&id)?.ok_or(CliError::UnknownArticle)?;
            if json {
                output::json(&article);
            } else {
                print!("{}", shown(&article));
            }
            Ok(())
        }
    }
}

fn hits(json: bool, hits: &[KbHit], none: &str) -> Result<()> {
    if json {
        output::json(&hits);
    } else if hits.is_empty() {
        println!("{none}");
    } else {
        for hit in hits {
            let internal = if hit.audience == KbAudience::Staff {
                " [internal]"
            } else {
                ""
            };
            println!("{}  {}{internal}", hit.id, hit.title);
            if !hit.excerpt.is_empty() {
                println!("    {}", hit.excerpt);
            }
        }
    }
    Ok(())
}

fn shown(article: &KbArticle) -> String {
    let mut out = format!("{}\n", article.title);
    let mut facts = vec![
        format!("version {}", article.version),
        article.language.clone(),
    ];
    if let Some(category) = &article.category {
        facts.push(category.clone());
    }
    if article.audience == KbAudience::Staff {
        facts.push("internal".into());
    }
    if !article.tags.is_empty() {
        facts.push(format!("tags: {}", article.tags.join(", ")));
    }
    out.push_str(&format!(
        "{}\n\n{}\n",
        facts.join(" · "),
        article.body.trim_end()
    ));
    out
}
