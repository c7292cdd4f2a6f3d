//! The dashboard's pages, as maud templates: every value is escaped where it is written, and
//! the pages hold no script or style of their own (the CSP allows only `/ui/assets/`). Charts
//! are `div`s whose `data-chart` attribute holds their JSON, drawn by `app.js` with uPlot.

use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

use super::data::{self, usd, Filters, Table};
use super::Viewer;
use crate::api::admin::KeyView;
use crate::api::BudgetStatus;
use crate::report::thousands;

fn layout(viewer: Option<&Viewer>, title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "gw · " (title) }
                // No icon: the browser would ask for /favicon.ico.
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/ui/assets/uPlot.min.css";
                link rel="stylesheet" href="/ui/assets/app.css";
                script src="/ui/assets/uPlot.iife.min.js" defer {}
                script src="/ui/assets/app.js" defer {}
            }
            body {
                @if let Some(v) = viewer {
                    header {
                        a.brand href="/ui/overview" { "gw" }
                        nav {
                            @for (path, name) in [("overview", "Overview"), ("budgets", "Budgets"), ("keys", "Keys"), ("sessions", "Sessions")] {
                                a href={ "/ui/" (path) } class=[(active == path).then_some("active")] { (name) }
                            }
                        }
                        span.who {
                            @match v.key() {
                                Some(k) => { (k.developer) " · " (k.org) }
                                None => "admin",
                            }
                        }
                        form.signout method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                footer {
                    "gw " (env!("CARGO_PKG_VERSION")) " · charts by "
                    a href="/ui/assets/uPlot.LICENSE" { "uPlot (MIT)" }
                }
            }
        }
    }
}

pub fn login(error: Option<&str>) -> Markup {
    layout(
        None,
        "Sign in",
        "",
        html! {
            form.login method="post" action="/ui/login" {
                p { "Sign in with the admin token (" code { "gwa_…" } ") or your gw key (" code { "gwk_…" } ")." }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                label for="token" { "Token or key" }
                input #token type="password" name="token" autocomplete="off" required autofocus;
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn error(status: StatusCode, message: &str) -> Markup {
    layout(
        None,
        status.canonical_reason().unwrap_or("Error"),
        "",
        html! {
            p.error role="alert" { (message) }
            p { a href="/ui/overview" { "Back to the dashboard" } }
        },
    )
}

fn filter_form(viewer: &Viewer, f: &Filters, action: &str, chart: bool) -> Markup {
    let text = |name: &'static str, value: &Option<String>, hint: &'static str| {
        html! {
            label {
                span { (name) }
                input type="text" name=(name) value=(value.as_deref().unwrap_or("")) placeholder=(hint);
            }
        }
    };
    html! {
        form.filters method="get" action=(action) {
            label {
                span { "period" }
                select name="period" {
                    @for p in ["today", "yesterday", "week", "month", "all"] {
                        option value=(p) selected[f.period() == p] { (p) }
                    }
                }
            }
            @if chart {
                label {
                    span { "stack by" }
                    select name="by" {
                        @for b in ["team", "model", "agent", "developer", "project"] {
                            @if b != "developer" || viewer.is_admin() {
                                option value=(b) selected[f.by() == b] { (b) }
                            }
                        }
                    }
                }
            }
            @if viewer.is_admin() {
                (text("org", &f.org, "acme"))
                (text("team", &f.team, "acme/backend"))
                (text("developer", &f.developer, "alice@acme.example"))
            }
            @if chart { (text("model", &f.model, "claude-sonnet-4-5")) }
            (text("agent", &f.agent, "claude"))
            (text("project", &f.project, "github.com/acme/app"))
            (text("branch", &f.branch, "main"))
            button type="submit" { "Apply" }
            a href=(action) { "Clear" }
        }
    }
}

fn table(t: &Table) -> Markup {
    html! {
        div.scroll {
            table {
                thead { tr { @for h in &t.headers { th { (h) } } } }
                tbody {
                    @for (row, link) in t.rows.iter().zip(&t.links) {
                        tr {
                            @for (i, cell) in row.iter().enumerate() {
                                td {
                                    @match (i, link) {
                                        (0, Some(href)) => a href=(href) { (cell) },
                                        _ => (cell),
                                    }
                                }
                            }
                        }
                    }
                    @if t.rows.is_empty() {
                        tr { td colspan=(t.headers.len()) { "Nothing in this period." } }
                    }
                }
            }
        }
    }
}

fn csv_link(href: String) -> Markup {
    html! { a.csv href=(href) download { "CSV" } }
}

fn chart(c: &data::Chart, label: &str) -> Markup {
    let json = serde_json::to_string(c).unwrap_or_else(|_| "{}".into());
    html! { div.chart role="img" aria-label=(label) data-chart=(json) {} }
}

fn budget_bar(b: &BudgetStatus) -> Markup {
    let used = b.spent_nanos.saturating_add(b.reserved_nanos);
    html! {
        div.budget {
            div.budget-head {
                strong { (b.scope.as_str()) " " (b.name) }
                span { " · " (b.period.as_str()) @if b.strict { " · strict" } }
                @if b.exhausted { span.badge.bad { "exhausted" } }
                @else if b.soft_exceeded { span.badge.warn { "over " (format!("{:.0}%", b.soft_threshold * 100.0)) } }
            }
            meter min="0" max=(b.limit_nanos.max(1)) low=((b.limit_nanos as f64 * b.soft_threshold) as i64)
                high=(b.limit_nanos) optimum="0" value=(used.min(b.limit_nanos)) {}
            div.budget-figures {
                (usd(b.spent_nanos)) " spent"
                @if b.reserved_nanos > 0 { " + " (usd(b.reserved_nanos)) " reserved" }
                " of " (usd(b.limit_nanos)) " · " (usd(b.remaining_nanos.max(0))) " left"
            }
        }
    }
}

pub fn overview(viewer: &Viewer, f: &Filters, v: &data::Overview) -> Markup {
    let t = &v.totals;
    let body = html! {
        (filter_form(viewer, f, "/ui/overview", true))
        p.period {
            (v.since.as_deref().unwrap_or("the beginning")) " to " (v.until) " (" (v.tz) ")"
        }
        div.cards {
            div.card { span { "spend" } strong #total-cost { (usd(t.cost_nanos)) } }
            div.card { span { "requests" } strong #total-requests { (thousands(t.requests)) } }
            div.card { span { "input (uncached)" } strong { (thousands(t.input)) } }
            div.card { span { "cache read / write" } strong { (thousands(t.cache_read)) " / " (thousands(t.cache_write)) } }
            div.card { span { "output" } strong { (thousands(t.output)) } }
            div.card class=[(t.unpriced > 0).then_some("warn")] {
                span { "unpriced requests" }
                strong #total-unpriced { (thousands(t.unpriced)) }
                @if t.unpriced > 0 { small { "not in the spend: no price for their model" } }
            }
        }
        @if !v.budgets.is_empty() {
            h2 { "Budgets" }
            div.budgets { @for b in &v.budgets { (budget_bar(b)) } }
        }
        h2 { "Spend over time, by " (f.by()) " " (csv_link(format!("/ui/overview{}&format=csv&table=spend", with_q(f)))) }
        (chart(&v.chart, "spend over time"))
        div.tops {
            @for (name, title, t) in &v.tops {
                section {
                    h2 { (title) " " (csv_link(format!("/ui/overview{}&format=csv&table={name}", with_q(f)))) }
                    (table(t))
                }
            }
        }
    };
    layout(Some(viewer), "Overview", "overview", body)
}

/// The filters as a query string that more parameters can follow (`?…` or `?`).
fn with_q(f: &Filters) -> String {
    let q = f.with("", "");
    if q.is_empty() {
        "?".into()
    } else {
        q
    }
}

pub fn budgets(viewer: &Viewer, v: &data::Budgets) -> Markup {
    let body = html! {
        div.budgets { @for b in &v.budgets { (budget_bar(b)) } }
        h2 { "All budgets " (csv_link("/ui/budgets?format=csv".into())) }
        (table(&v.table))
        @if viewer.is_admin() && !v.budgets.is_empty() {
            h2 { "Change a budget" }
            div.scroll {
                table {
                    thead { tr { th { "budget" } th { "limit (USD)" } th { "soft threshold" } th {} } }
                    tbody {
                        @for b in &v.budgets {
                            tr {
                                td { (b.scope.as_str()) " " (b.name) " (" (b.period.as_str()) ")" }
                                td colspan="3" {
                                    form.inline method="post" action={ "/ui/budgets/" (b.id) } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        input type="text" name="limit_usd" inputmode="decimal" value=(format!("{:.2}", b.limit_usd)) aria-label="limit in USD";
                                        input type="text" name="soft_threshold" value=(format!("{:.0}%", b.soft_threshold * 100.0)) aria-label="soft threshold";
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !v.burn.is_empty() {
            h2 { "Burn-down this period" }
            div.burns {
                @for (title, c) in &v.burn {
                    section { h3 { (title) } (chart(c, title)) }
                }
            }
        }
        @if viewer.is_admin() {
            h2 { "New budget" }
            form.create method="post" action="/ui/budgets" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { span { "scope" } select name="scope" { @for s in ["org", "team", "developer", "key"] { option value=(s) { (s) } } } }
                label { span { "name" } input type="text" name="name" placeholder="acme/backend" required; }
                label { span { "limit (USD)" } input type="text" name="limit_usd" inputmode="decimal" required; }
                label { span { "period" } select name="period" { @for p in ["hour", "day", "week", "month", "total"] { option value=(p) selected[p == "month"] { (p) } } } }
                label { span { "soft threshold" } input type="text" name="soft_threshold" placeholder="80%"; }
                button type="submit" { "Create budget" }
            }
        }
    };
    layout(Some(viewer), "Budgets", "budgets", body)
}

pub fn keys(viewer: &Viewer, v: &data::Keys, created: Option<&KeyView>) -> Markup {
    let body = html! {
        @if let Some(k) = created {
            div.created role="status" {
                p { "New key " strong { (k.key_id) } " for " (k.developer) ". It is shown this once: copy it now." }
                code #new-key { (k.key.as_deref().unwrap_or("")) }
            }
        }
        p { (csv_link("/ui/keys?format=csv".into())) }
        @for (team, developers) in &v.tree {
            section.team {
                h2 { (team) }
                @for (developer, keys) in developers {
                    h3 { (developer) }
                    div.scroll {
                        table {
                            thead { tr { th { "key id" } th { "name" } th { "state" } th { "expires" } th { "models" } th { "last used" } th { "created" } @if viewer.is_admin() { th {} } } }
                            tbody {
                                @for (k, used) in keys {
                                    tr {
                                        td { code { (k.key_id) } }
                                        td { (k.name.as_deref().unwrap_or("")) }
                                        td { @if k.active { "active" } @else { span.badge.bad { "revoked" } } }
                                        td { (k.expires_at.as_deref().unwrap_or("never")) }
                                        td { (k.models.as_ref().map_or_else(|| "any".to_string(), |m| m.join(" "))) }
                                        td { (used.as_deref().unwrap_or("never")) }
                                        td { (k.created_at) }
                                        @if viewer.is_admin() {
                                            td {
                                                @if k.active {
                                                    form.inline method="post" action={ "/ui/keys/" (k.key_id) "/revoke" }
                                                        data-confirm={ "Revoke key " (k.key_id) " of " (k.developer) "? Its sessions stop at their next request." } {
                                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                                        button.danger type="submit" { "Revoke" }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if v.tree.is_empty() { p { "No keys yet." } }
        @if viewer.is_admin() {
            h2 { "New key" }
            form.create method="post" action="/ui/keys" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { span { "developer" } input type="text" name="developer" list="developers" required; }
                datalist #developers { @for d in &v.developers { option value=(d) {} } }
                label { span { "name" } input type="text" name="name" placeholder="laptop"; }
                label { span { "models (comma-separated; empty: any)" } input type="text" name="models"; }
                label { span { "expires (YYYY-MM-DD)" } input type="date" name="expires_at"; }
                button type="submit" { "Create key" }
            }
        }
    };
    layout(Some(viewer), "Keys", "keys", body)
}

pub fn sessions(viewer: &Viewer, f: &Filters, v: &data::Sessions) -> Markup {
    let body = html! {
        (filter_form(viewer, f, "/ui/sessions", false))
        p { "Times in " (v.tz) " · the 500 latest " (csv_link(format!("/ui/sessions{}&format=csv", with_q(f)))) }
        (table(&v.table))
    };
    layout(Some(viewer), "Sessions", "sessions", body)
}

pub fn session(viewer: &Viewer, v: &data::Session) -> Markup {
    let t = &v.totals;
    let body = html! {
        p { "Session " code { (v.session_id) } " · key " code { (v.key_id) } " · times in " (v.tz) }
        div.cards {
            div.card { span { "spend" } strong #session-cost { (usd(t.cost_nanos)) } }
            div.card { span { "requests" } strong { (thousands(t.requests)) } }
            div.card { span { "cache hit" } strong {
                @let all = t.input.saturating_add(t.cache_read).saturating_add(t.cache_write);
                @if all > 0 { (format!("{:.0}%", t.cache_read as f64 * 100.0 / all as f64)) } @else { "—" }
            } }
            div.card class=[(t.unpriced > 0).then_some("warn")] { span { "unpriced" } strong { (thousands(t.unpriced)) } }
        }
        p { (csv_link(format!("/ui/sessions/{}/{}?format=csv", crate::server::client::encode(&v.key_id), crate::server::client::encode(&v.session_id)))) }
        (table(&v.table))
    };
    layout(Some(viewer), "Session", "sessions", body)
}
