//! `[environments.ENV.analysis.METRIC]` tables: each one checked on its
//! own, every field validated, each error naming the template and pointing
//! at the offending value.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_spanned::Spanned;
use toml::de::DeValue;

use super::environment::candidates;
use super::{Checker, Key, Known, Value};
use crate::analysis::{AnalysisTemplate, FACTS, MAX_COUNT, MAX_QUERY, MAX_VARIABLES, NoData, Range, placeholders};
use crate::capability::{PluginKind, join};
use crate::names::{PluginName, validate_name};
use crate::schema::{AnalysisToml, RangeToml};
use crate::units::parse_span;

/// Flagger's default interval.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Argo Rollouts' default `consecutiveErrorLimit`.
const DEFAULT_CONSECUTIVE_ERRORS: u32 = 4;

impl Checker<'_> {
    /// Every template of environment `env`, in name order; `None` when any
    /// has an error (all of them reported).
    pub(super) fn analysis(&mut self, env: &str, value: &Value<'_>, known: &Known) -> Option<Vec<AnalysisTemplate>> {
        // An environment that is not a table is reported by its own check.
        let Some(analysis) = value.get_ref().as_table().and_then(|t| t.get("analysis")) else {
            return Some(Vec::new());
        };
        let Some(templates) = analysis.get_ref().as_table() else {
            self.error(
                analysis.span(),
                format!(
                    "`analysis` in [environments.{env}] must hold [environments.{env}.analysis.METRIC] tables, found a {}",
                    analysis.get_ref().type_str()
                ),
            );
            return None;
        };
        let mut all = Vec::new();
        let mut ok = true;
        for (key, entry) in templates.iter() {
            match self.template(env, key, entry, known) {
                Some(template) => all.push(template),
                None => ok = false,
            }
        }
        ok.then_some(all)
    }

    fn template(&mut self, env: &str, key: &Key<'_>, entry: &Value<'_>, known: &Known) -> Option<AnalysisTemplate> {
        let name: &str = key.get_ref();
        let mut ok = true;
        if let Err(err) = validate_name(name) {
            self.error(
                key.span(),
                format!("invalid analysis template name `{name}` in environment `{env}`: {}", err.reason),
            );
            ok = false;
        }
        let here = format!("analysis template `{name}` of environment `{env}`");
        let entry = self.strip_range_keys(entry, &here);
        let raw = self.typed::<AnalysisToml>(&entry, &["environments", env, "analysis", name])?;
        let provider = self.provider(raw.provider.as_ref(), key, &here, known);
        let variables = self.variables(raw.variables.as_ref(), &here);
        let query = self.query(raw.query.as_ref(), key, &here, variables.as_ref());
        let success = self.range(raw.success.as_ref(), "success", &here);
        let failure = self.range(raw.failure.as_ref(), "failure", &here);
        if raw.success.is_none() && raw.failure.is_none() {
            self.error(
                key.span(),
                format!(
                    "{here} has neither `success` nor `failure`; say what a good measurement is, e.g. `success = {{ max = 0.05 }}`"
                ),
            );
            ok = false;
        }
        let interval = match &raw.interval {
            None => Some(DEFAULT_INTERVAL),
            Some(text) => match parse_span(text.get_ref()) {
                Ok(span) if span.is_zero() => {
                    self.error(text.span(), format!("`interval` of {here} is zero; measure at least every \"1s\""));
                    None
                }
                Ok(span) => Some(span),
                Err(why) => {
                    self.error(text.span(), format!("`interval` of {here}: {why}"));
                    None
                }
            },
        };
        let initial_delay = match &raw.initial_delay {
            None => Some(Duration::ZERO),
            Some(text) => parse_span(text.get_ref())
                .map_err(|why| self.error(text.span(), format!("`initial-delay` of {here}: {why}")))
                .ok(),
        };
        let count = match &raw.count {
            None => Some(None),
            Some(n) => self.number(n, "count", &here, 1).map(Some),
        };
        let limit = |cx: &mut Self, field: &Option<Spanned<i64>>, key: &str, default: u32| match field {
            None => Some(default),
            Some(n) => cx.number(n, key, &here, 0),
        };
        let failure_limit = limit(self, &raw.failure_limit, "failure-limit", 0);
        let inconclusive_limit = limit(self, &raw.inconclusive_limit, "inconclusive-limit", 0);
        let consecutive_error_limit =
            limit(self, &raw.consecutive_error_limit, "consecutive-error-limit", DEFAULT_CONSECUTIVE_ERRORS);
        if let (Some(Some(count)), Some(failures), Some(field)) = (count, failure_limit, &raw.failure_limit)
            && failures >= count
        {
            self.error(
                field.span(),
                format!(
                    "`failure-limit` of {here} is {failures}, so {count} measurements (`count`) can never fail it; lower it below {count}"
                ),
            );
            ok = false;
        }
        let no_data = match &raw.no_data {
            None => Some(NoData::default()),
            Some(text) => {
                let found = NoData::ALL.into_iter().find(|n| n.as_str() == text.get_ref());
                if found.is_none() {
                    let names = NoData::ALL.map(NoData::as_str);
                    self.error(
                        text.span(),
                        format!(
                            "`no-data` of {here} is {:?}; write one of {} (\"pause\": inconclusive, so the rollout pauses past `inconclusive-limit`)",
                            text.get_ref(),
                            join(names)
                        ),
                    );
                }
                found
            }
        };
        let (Some(provider), Some(query), Some(success), Some(failure), Some(interval), Some(initial_delay)) =
            (provider, query, success, failure, interval, initial_delay)
        else {
            return None;
        };
        let (Some(count), Some(failure_limit), Some(inconclusive_limit), Some(consecutive_error_limit)) =
            (count, failure_limit, inconclusive_limit, consecutive_error_limit)
        else {
            return None;
        };
        let (Some(no_data), Some(variables), true) = (no_data, variables, ok) else {
            return None;
        };
        Some(AnalysisTemplate {
            name: name.to_string(),
            provider,
            query,
            success,
            failure,
            interval,
            count,
            initial_delay,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit,
            no_data,
            dry_run: raw.dry_run.unwrap_or(false),
            variables,
            location: self.map.location(key.span().start),
        })
    }

    /// Reports and removes unknown keys of `success` and `failure`, so
    /// each is reported and the rest still type-checked.
    fn strip_range_keys<'i>(&mut self, entry: &Value<'i>, here: &str) -> Value<'i> {
        let mut entry = entry.clone();
        if let DeValue::Table(table) = entry.get_mut() {
            for key in ["success", "failure"] {
                if let Some(DeValue::Table(range)) = table.get_mut(key).map(|v| v.get_mut()) {
                    let place = format!("in `{key}` of {here}");
                    let unknown: Vec<String> = range
                        .iter()
                        .filter(|(k, _)| !self.check_key(k, &["min", "max"], &place, ""))
                        .map(|(k, _)| k.get_ref().to_string())
                        .collect();
                    for k in unknown {
                        range.remove(k.as_str());
                    }
                }
            }
        }
        entry
    }

    fn provider(
        &mut self,
        field: Option<&Spanned<String>>,
        key: &Key<'_>,
        here: &str,
        known: &Known,
    ) -> Option<PluginName> {
        let kind = PluginKind::MetricsProvider;
        let Some(reference) = field else {
            self.error(
                key.span(),
                format!(
                    "{here} has no `provider`; add `provider = \"NAME\"` naming a {kind} plugin ({})",
                    candidates(known, kind)
                ),
            );
            return None;
        };
        let target = reference.get_ref().as_str();
        match known.kinds.get(target) {
            None => {
                self.error(
                    reference.span(),
                    format!(
                        "`provider` of {here} names unknown plugin `{target}`; declare [plugins.{target}] with kind = \"{kind}\" or use a declared one ({})",
                        candidates(known, kind)
                    ),
                );
                None
            }
            Some(Some(actual)) if *actual != kind => {
                self.error(
                    reference.span(),
                    format!(
                        "`provider` of {here} needs a {kind} plugin, but `{target}` is a {actual} plugin ({})",
                        candidates(known, kind)
                    ),
                );
                None
            }
            // Valid, or broken and already reported.
            Some(_) => PluginName::new(target).ok(),
        }
    }

    fn query(
        &mut self,
        field: Option<&Spanned<String>>,
        key: &Key<'_>,
        here: &str,
        variables: Option<&BTreeMap<String, String>>,
    ) -> Option<String> {
        let Some(query) = field else {
            self.error(
                key.span(),
                format!(
                    "{here} has no `query`; add the query its provider runs, e.g. `query = 'sum(rate(errors{{revision=\"{{{{revision}}}}\"}}[{{{{interval}}}}]))'`"
                ),
            );
            return None;
        };
        let text = query.get_ref();
        let problem = if text.trim().is_empty() {
            Some("is empty; write the query its provider runs".to_string())
        } else if text.len() > MAX_QUERY {
            Some(format!("is {} bytes long, over the limit of {MAX_QUERY}; shorten it", text.len()))
        } else {
            match placeholders(text) {
                Err(why) => Some(format!("has {why}; close it, or write the text without `{{{{`")),
                Ok(names) => {
                    let unknown = names
                        .into_iter()
                        .find(|n| !FACTS.contains(n) && variables.is_some_and(|v| !v.contains_key(*n)));
                    unknown.map(|n| {
                        let declared = variables.map(|v| join(v.keys())).unwrap_or_default();
                        let declared = if declared.is_empty() { "none".to_string() } else { declared };
                        format!(
                            "uses `{{{{{n}}}}}`, which is neither a rollout fact ({}) nor one of its `variables` ({declared}); fix the name or add it to `variables`",
                            join(FACTS)
                        )
                    })
                }
            }
        };
        match problem {
            Some(problem) => {
                self.error(query.span(), format!("`query` of {here} {problem}"));
                None
            }
            None => Some(text.clone()),
        }
    }

    /// `Some(None)`: not written; `None`: written wrong (reported).
    fn range(&mut self, field: Option<&Spanned<RangeToml>>, key: &str, here: &str) -> Option<Option<Range>> {
        let Some(spanned) = field else { return Some(None) };
        let RangeToml { min, max } = *spanned.get_ref();
        let problem = match (min, max) {
            (None, None) => Some(format!("has neither `min` nor `max`; write e.g. `{key} = {{ max = 0.05 }}`")),
            _ if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) => {
                Some("has a NaN bound; bounds are numbers".to_string())
            }
            (Some(lo), Some(hi)) if lo > hi => {
                Some(format!("has `min` {lo} above `max` {hi}; no value could lie in it, so swap them"))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.error(spanned.span(), format!("`{key}` of {here} {problem}"));
            return None;
        }
        Some(Some(Range { min, max }))
    }

    /// An integer field in `least..=MAX_COUNT`.
    fn number(&mut self, field: &Spanned<i64>, key: &str, here: &str, least: u32) -> Option<u32> {
        let n = *field.get_ref();
        match u32::try_from(n) {
            Ok(n) if (least..=MAX_COUNT).contains(&n) => Some(n),
            _ => {
                self.error(
                    field.span(),
                    format!("`{key}` of {here} is {n}; write a whole number from {least} to {MAX_COUNT}"),
                );
                None
            }
        }
    }

    fn variables(
        &mut self,
        field: Option<&BTreeMap<Spanned<String>, Spanned<String>>>,
        here: &str,
    ) -> Option<BTreeMap<String, String>> {
        let mut variables = BTreeMap::new();
        let mut ok = true;
        let entries = field.map(|m| m.iter().collect::<Vec<_>>()).unwrap_or_default();
        if entries.len() > MAX_VARIABLES
            && let Some((first, _)) = entries.first()
        {
            self.error(
                first.span(),
                format!("{here} declares {} variables, over the limit of {MAX_VARIABLES}", entries.len()),
            );
            return None;
        }
        for (name, value) in entries {
            let key = name.get_ref().as_str();
            let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if FACTS.contains(&key) {
                self.error(
                    name.span(),
                    format!("variable `{key}` of {here} would shadow the rollout fact `{{{{{key}}}}}`; rename it"),
                );
                ok = false;
            } else if !valid {
                self.error(
                    name.span(),
                    format!("variable name `{key}` of {here} may contain only letters, digits, `_` and `-`"),
                );
                ok = false;
            } else {
                variables.insert(key.to_string(), value.get_ref().clone());
            }
        }
        ok.then_some(variables)
    }
}
