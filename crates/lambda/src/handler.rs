//! One invocation: select the inputs, process each, log and count each, answer. Takes all its
//! dependencies as arguments so tests call it directly.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use caller_input::YearMonth;
use esdk_message::provider::CryptoProvider;
use keystore::{CacheStatus, KeyStore};

use crate::config::Config;
use crate::error_code::ErrorCode;
use crate::event::{ConnectEvent, Input, SelectOptions, select_inputs};
use crate::metrics::{MetricSink, emf_line, payment_emf_line};
use crate::payment::{PAYMENT_ANSWER_BY, PayInput, PaymentService};
use crate::process::{Budget, Outcome, Processed, ms, process};
use crate::response::{Response, ResponseBuilder, error_response};

/// What one invocation needs, built once at cold start.
pub struct Deps<'a> {
    /// The key store (with its cache).
    pub keys: &'a KeyStore,
    /// The validated configuration.
    pub config: &'a Config,
    /// Where EMF lines go.
    pub metrics: &'a dyn MetricSink,
    /// The crypto backend.
    pub provider: &'static dyn CryptoProvider,
    /// The payment connector (issue 13); None when `SECURE_IVR_PAYMENT_CONNECTOR=none`.
    pub payments: Option<&'a PaymentService>,
}

/// Handles one Connect event. `today` decides expiry; pass [`YearMonth::now_utc`] in production.
/// `answer_by` is when the answer must be ready: key fetches still running then are abandoned
/// (`KeyStoreUnavailable`). In Lambda it is the invocation's deadline less a margin
/// ([`crate::deadline::answer_by`]).
pub async fn handle(event: &ConnectEvent, deps: &Deps<'_>, today: YearMonth, answer_by: Instant) -> Response {
    let started = Instant::now();
    let contact_id = event.contact_id();
    let options =
        SelectOptions { default_type: deps.config.default_type, decrypt_undeclared: deps.config.decrypt_undeclared };
    let selection = match select_inputs(event, options) {
        Ok(selection) => selection,
        Err(e) => {
            tracing::error!(contact_id, parameter = %e.declaration, "unknown value type declared; expected card, expiry, cvv or digits");
            return refuse_event(ErrorCode::MalformedCiphertext, deps, &contact_id);
        }
    };
    for name in &selection.undeclared_skipped {
        tracing::warn!(
            contact_id,
            parameter = name,
            "parameter looks encrypted but is not declared; not decrypted: name it Encrypted..., add \
             a <Name>Type parameter, or set SECURE_IVR_DECRYPT_UNDECLARED=true"
        );
    }
    let inputs = selection.inputs;
    if inputs.is_empty() {
        tracing::warn!(contact_id, "no encrypted parameter in the event");
        return refuse_event(ErrorCode::NoEncryptedInput, deps, &contact_id);
    }

    let mut budget = Budget { deadline: answer_by, ssm_down: false };
    let mut response = ResponseBuilder::new(inputs.len());
    let mut all = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let processed = process(input, deps, today, &contact_id, &mut budget, deps.payments.is_some()).await;
        record(input, &processed, deps, &contact_id);
        response.add(input.name, input.kind, processed.outcome.clone());
        all.push(processed);
    }
    let mut response = response.finish();
    if let Some(service) = deps.payments {
        let ends = answer_by.min(started + PAYMENT_ANSWER_BY);
        pay(service, event, &inputs, &all, deps, &contact_id, ends, &mut response).await;
    }
    // The kept card parts are wiped here, before the answer leaves.
    drop(all);
    tracing::info!(
        contact_id,
        status = response.get("Status").map_or("", String::as_str),
        values = inputs.len(),
        total_ms = ms(started),
        "invocation done"
    );
    response
}

/// The payment step: its fields join the response; one log line and one EMF line.
#[allow(clippy::too_many_arguments)]
async fn pay(
    service: &PaymentService,
    event: &ConnectEvent,
    inputs: &[Input<'_>],
    all: &[Processed],
    deps: &Deps<'_>,
    contact_id: &str,
    ends: Instant,
    response: &mut Response,
) {
    let started = Instant::now();
    let pay_inputs: Vec<PayInput<'_>> = inputs
        .iter()
        .zip(all)
        .map(|(input, p)| PayInput {
            kind: input.kind,
            valid: matches!(&p.outcome, Outcome::Decrypted(a) if a.valid),
            part: p.part.as_ref(),
            message_id: p.message_id.as_deref(),
        })
        .collect();
    let parameter = |name: &str| event.parameter(name).map(str::to_owned);
    // The gateway sees Connect's contact ID as given (it refuses what is not [A-Za-z0-9_-]).
    let raw_contact = event.details.contact_data.contact_id.as_deref().unwrap_or("");
    let now_unix = u64::try_from(now_ms() / 1000).unwrap_or(u64::MAX);
    let Some(answer) = service.pay(&pay_inputs, &parameter, raw_contact, now_unix, ends).await else { return };
    let payment_ms = ms(started);
    for (key, value) in &answer.fields {
        response.insert((*key).to_owned(), value.clone());
    }
    let code = answer.error_code.map(ErrorCode::as_str);
    let (operation, error_code) = (answer.operation.unwrap_or(""), code.unwrap_or(""));
    let idempotency_key = answer.idempotency_key.as_deref().unwrap_or("");
    // One line, at WARN when someone has to look (money may have moved, or a replay).
    macro_rules! payment_line {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                contact_id,
                connector = service.connector_name(),
                operation,
                payment_status = answer.status,
                error_code,
                idempotency_key,
                sent = answer.sent,
                replayed_answer = answer.replayed_answer,
                reason = %answer.reason,
                payment_ms,
                $message
            )
        };
    }
    if answer.status == "Unknown" || code == Some(ErrorCode::Replay.as_str()) {
        payment_line!(warn, "payment needs attention");
    } else {
        payment_line!(info, "payment done");
    }
    deps.metrics.emit(&payment_emf_line(&deps.config.metrics_namespace, now_ms(), answer.status, code, payment_ms));
}

/// One log line and one EMF line for a processed value.
fn record(input: &Input<'_>, p: &Processed, deps: &Deps<'_>, contact_id: &str) {
    let code = p.outcome.error_code().map(ErrorCode::as_str);
    tracing::info!(
        contact_id,
        parameter = input.name,
        value_type = input.kind.as_str(),
        key_id = p.key_id.as_deref().unwrap_or(""),
        suite = p.suite.map(|s| format!("0x{s:04x}")).unwrap_or_default(),
        cache = p.cache.map_or("", CacheStatus::as_str),
        outcome = p.outcome.status(),
        error_code = code.unwrap_or(""),
        key_fetch_ms = p.fetch_ms,
        decrypt_ms = p.decrypt_ms,
        "value processed"
    );
    deps.metrics.emit(&emf_line(
        &deps.config.metrics_namespace,
        now_ms(),
        p.outcome.status(),
        code,
        p.fetch_ms,
        p.decrypt_ms,
    ));
}

/// The answer, log and EMF line when the event itself is unusable.
fn refuse_event(code: ErrorCode, deps: &Deps<'_>, contact_id: &str) -> Response {
    deps.metrics.emit(&emf_line(&deps.config.metrics_namespace, now_ms(), "Error", Some(code.as_str()), 0.0, 0.0));
    tracing::info!(contact_id, outcome = "Error", error_code = code.as_str(), "invocation done");
    error_response(code)
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}
