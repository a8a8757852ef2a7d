//! `[environments.ENV.notify.NAME]` tables: each subscription checked on
//! its own, each error naming it and pointing at the offending value.

use std::collections::BTreeSet;

use super::credentials::valid_env_name;
use super::{Checker, Key, Value};
use crate::capability::join;
use crate::model::SecretSource;
use crate::names::validate_name;
use crate::notify::{MAX_SUBSCRIPTIONS, NotifyEvent, NotifyFormat, Subscription, WebhookUrl, check_url};
use crate::schema::NotifyToml;

impl Checker<'_> {
    /// Every subscription of environment `env`, in name order; `None` when
    /// any has an error (all of them reported).
    pub(super) fn notify(&mut self, env: &str, value: &Value<'_>) -> Option<Vec<Subscription>> {
        let Some(notify) = value.get_ref().as_table().and_then(|t| t.get("notify")) else {
            return Some(Vec::new());
        };
        let Some(subscriptions) = notify.get_ref().as_table() else {
            self.error(
                notify.span(),
                format!(
                    "`notify` in [environments.{env}] must hold [environments.{env}.notify.NAME] tables, found a {}",
                    notify.get_ref().type_str()
                ),
            );
            return None;
        };
        if subscriptions.len() > MAX_SUBSCRIPTIONS {
            self.error(
                notify.span(),
                format!(
                    "environment `{env}` has {} notification subscriptions; at most {MAX_SUBSCRIPTIONS} are allowed, so merge some",
                    subscriptions.len()
                ),
            );
            return None;
        }
        let mut all = Vec::new();
        let mut ok = true;
        for (key, entry) in subscriptions.iter() {
            match self.subscription(env, key, entry) {
                Some(s) => all.push(s),
                None => ok = false,
            }
        }
        ok.then_some(all)
    }

    fn subscription(&mut self, env: &str, key: &Key<'_>, entry: &Value<'_>) -> Option<Subscription> {
        let name: &str = key.get_ref();
        let mut ok = true;
        if let Err(err) = validate_name(name) {
            self.error(
                key.span(),
                format!("invalid subscription name `{name}` in environment `{env}`: {}", err.reason),
            );
            ok = false;
        }
        let here = format!("[environments.{env}.notify.{name}]");
        let raw = self.typed::<NotifyToml>(entry, &["environments", env, "notify", name])?;
        let url = match (&raw.url, &raw.url_from) {
            (Some(url), None) => match check_url(url.get_ref()) {
                Ok(()) => Some(WebhookUrl::Inline(url.get_ref().clone())),
                Err(why) => {
                    self.error(url.span(), format!("`url` of {here}: {why}"));
                    None
                }
            },
            (None, Some(from)) => self.url_from(from, &here).map(WebhookUrl::Secret),
            (Some(_), Some(from)) => {
                self.error(from.span(), format!("{here} has both `url` and `url-from`; keep one"));
                None
            }
            (None, None) => {
                self.error(
                    key.span(),
                    format!(
                        "{here} has no `url`; add `url = \"http://…\"`, or `url-from = {{ env = \"VAR\" }}` for a secret URL"
                    ),
                );
                None
            }
        };
        let events = match &raw.events {
            None => Some(NotifyEvent::defaults()),
            Some(list) => {
                let mut events = BTreeSet::new();
                let mut good = true;
                for item in list.get_ref() {
                    match NotifyEvent::parse(item.get_ref()) {
                        Some(e) if !events.insert(e) => {
                            self.error(
                                item.span(),
                                format!("event `{e}` is listed twice in `events` of {here}; remove one"),
                            );
                            good = false;
                        }
                        Some(_) => {}
                        None => {
                            self.error(
                                item.span(),
                                format!(
                                    "unknown event {:?} in `events` of {here}; write some of {}",
                                    item.get_ref(),
                                    join(NotifyEvent::ALL.map(NotifyEvent::as_str))
                                ),
                            );
                            good = false;
                        }
                    }
                }
                if good && events.is_empty() {
                    self.error(
                        list.span(),
                        format!("`events` of {here} is empty; name some events, or remove the subscription"),
                    );
                    good = false;
                }
                good.then_some(events)
            }
        };
        let format = match &raw.format {
            None => Some(NotifyFormat::default()),
            Some(text) => {
                let found = NotifyFormat::ALL.into_iter().find(|f| f.as_str() == text.get_ref());
                if found.is_none() {
                    self.error(
                        text.span(),
                        format!(
                            "`format` of {here} is {:?}; write \"json\" or \"slack\" (a Slack-compatible incoming webhook)",
                            text.get_ref()
                        ),
                    );
                }
                found
            }
        };
        let (url, events, format) = (url?, events?, format?);
        ok.then(|| Subscription {
            name: name.to_owned(),
            url,
            events,
            format,
            location: self.map.location(key.span().start),
        })
    }

    fn url_from(
        &mut self,
        from: &serde_spanned::Spanned<crate::schema::SecretToml>,
        here: &str,
    ) -> Option<SecretSource> {
        let raw = from.get_ref();
        match (&raw.env, &raw.file) {
            (Some(env), None) if valid_env_name(env.get_ref()) => Some(SecretSource::Env(env.get_ref().clone())),
            (Some(env), None) => {
                self.error(env.span(), format!("invalid environment variable name {:?} in `url-from` of {here}; use letters, digits and `_`, not starting with a digit", env.get_ref()));
                None
            }
            (None, Some(file)) if !file.get_ref().is_empty() => Some(SecretSource::File(self.dir.join(file.get_ref()))),
            (None, Some(file)) => {
                self.error(
                    file.span(),
                    format!("`file` in `url-from` of {here} is empty; give the path of the file holding the URL"),
                );
                None
            }
            (Some(_), Some(file)) => {
                self.error(
                    file.span(),
                    format!("`url-from` of {here} reads the URL from `env` or from `file`, not both; remove one"),
                );
                None
            }
            (None, None) => {
                self.error(
                    from.span(),
                    format!("`url-from` of {here} says nowhere to read the URL; write `{{ env = \"VAR\" }}` or `{{ file = \"path\" }}`"),
                );
                None
            }
        }
    }
}
