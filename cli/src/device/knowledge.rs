//! `kb search`, `kb show`, `kb suggest`: the knowledge base this device holds, read offline
//! (`docs/knowledge-base.md`, "On devices").

use fieldwork_core::knowledge::{KbArticle, KbAudience, images_in};
use fieldwork_core::store::{KbHit, TicketStore};
use serde::Serialize;

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
            let mut images = Vec::new();
            for sha256 in images_in(&article.body) {
                let on_device = store.kb_image(&sha256)?.is_some();
                images.push(Picture { sha256, on_device });
            }
            if json {
                output::json(&ShownArticle {
                    article: &article,
                    images: &images,
                });
            } else {
                print!("{}", shown(&article));
                for picture in &images {
                    let state = if picture.on_device {
                        "on this device (`kb picture` saves it)"
                    } else {
                        "not on this device yet (the next sync fetches it)"
                    };
                    println!("picture {}: {state}", picture.sha256);
                }
            }
            Ok(())
        }
        KbCommand::Picture { sha256, out } => {
            let bytes = store.kb_image(&sha256)?.ok_or(CliError::UnknownPicture)?;
            std::fs::write(&out, &bytes).map_err(super::file_error("write", &out))?;
            if json {
                output::json(&serde_json::json!({ "sha256": sha256, "bytes": bytes.len() }));
            } else {
                println!("wrote {} bytes to {}", bytes.len(), out.display());
            }
            Ok(())
        }
    }
}

/// A picture an article shows, and whether this device has it.
#[derive(Serialize)]
struct Picture {
    sha256: String,
    on_device: bool,
}

/// `kb show --json`: the article and its pictures.
#[derive(Serialize)]
struct ShownArticle<'a> {
    #[serde(flatten)]
    article: &'a KbArticle,
    images: &'a [Picture],
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
