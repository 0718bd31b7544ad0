//! A browser (or a script) calling the back-office API under `/api/v1` through the router:
//! JSON in and out, the session and CSRF cookies kept between calls as a browser would.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use super::{Harness, Reply};

/// An answer with its JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub reply: Reply,
    pub json: Value,
}

impl Answer {
    /// The error code of a failed answer, checked to have `status` and the API's error shape.
    pub fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "body: {}", self.json);
        assert_eq!(
            self.reply.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "errors are JSON"
        );
        let message = self.json["error"]["message"].as_str().expect("a message");
        assert!(!message.is_empty());
        self.json["error"]["code"]
            .as_str()
            .expect("a code")
            .to_owned()
    }

    /// The `Set-Cookie` header for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.reply
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// Someone calling the API: with a browser's cookies, a bearer token, or nothing.
#[derive(Debug, Clone, Default)]
pub struct Browser {
    pub session: Option<String>,
    pub csrf: Option<String>,
    pub token: Option<String>,
    /// Leave the CSRF header out of writes (a forged request from another site).
    pub forget_csrf: bool,
}

impl Browser {
    pub fn with_token(token: &str) -> Browser {
        Browser {
            token: Some(token.to_owned()),
            ..Browser::default()
        }
    }

    /// Signs in as `name` of `tenant` with `password`, keeping the cookies when it works.
    pub async fn sign_in(
        h: &Harness,
        tenant: &str,
        name: &str,
        password: &str,
    ) -> (Browser, Answer) {
        let mut browser = Browser::default();
        let body = serde_json::json!({ "tenant": tenant, "name": name, "password": password });
        let answer = browser.send(h, "POST", "/api/v1/session", Some(body)).await;
        if answer.status == StatusCode::CREATED {
            let value = |name: &str| {
                answer
                    .set_cookie(name)
                    .and_then(|c| c.split(';').next().map(str::to_owned))
                    .and_then(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
            };
            browser.session = value("fw_session");
            browser.csrf = value("fw_csrf");
        }
        (browser, answer)
    }

    pub async fn send(&self, h: &Harness, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        let mut cookies = Vec::new();
        if let Some(session) = &self.session {
            cookies.push(format!("fw_session={session}"));
        }
        if let Some(csrf) = &self.csrf {
            cookies.push(format!("fw_csrf={csrf}"));
            if method != "GET" && !self.forget_csrf {
                builder = builder.header("x-csrf-token", csrf);
            }
        }
        if !cookies.is_empty() {
            builder = builder.header("cookie", cookies.join("; "));
        }
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let reply = h.request(builder.body(body).expect("request")).await;
        let json = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        Answer {
            status: reply.status,
            reply,
            json,
        }
    }

    pub async fn get(&self, h: &Harness, path: &str) -> Answer {
        self.send(h, "GET", path, None).await
    }

    pub async fn post(&self, h: &Harness, path: &str, body: Value) -> Answer {
        self.send(h, "POST", path, Some(body)).await
    }
}
