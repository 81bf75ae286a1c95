//! `bootstrap`: the Lambda entry point. Wiring only; the handler lives in `handler.rs`.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use keystore::{KeyStore, SsmParameterSource};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use secure_ivr_lambda::deadline::{self, BudgetSource};
use secure_ivr_lambda::metrics::StdoutMetrics;
use secure_ivr_lambda::{Config, ConnectEvent, Deps, YearMonth, handle, logging};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    // A bad setting fails the cold start with a message naming the variable, not a call.
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    // Fail closed: the settings are validated, but this build does not call a connector yet
    // (Secrets Manager, the replay table and the handler's call are issue 13's open part). A
    // connector that is configured and silently never called would tell callers nothing.
    if config.payment != secure_ivr_lambda::payment::PaymentSettings::None {
        let e = secure_ivr_lambda::ConfigError(format!(
            "{} is set, but this build does not call payment connectors yet; set it to none",
            secure_ivr_lambda::payment::vars::CONNECTOR
        ));
        tracing::error!(error = %e, "cold start failed");
        return Err(e.into());
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = keystore::ssm_client(aws_sdk_ssm::config::Builder::from(&sdk), &config.ssm);
    let provider = esdk_message::provider::default_provider();
    let keys = KeyStore::new(Arc::new(SsmParameterSource::new(client)), provider, config.keystore.clone());
    if config.warm_cache {
        match keys.warm().await {
            Ok(n) => tracing::info!(keys = n, prefix = %config.keystore.prefix, "key cache warmed"),
            // Not fatal: calls will fetch their key on demand.
            Err(e) => tracing::warn!(error = %e, "could not warm the key cache"),
        }
    }
    tracing::info!(prefix = %config.keystore.prefix, legacy = config.keystore.legacy_parameter.is_some(), "ready");

    let metrics = StdoutMetrics;
    let deps = Deps { keys: &keys, config: &config, metrics: &metrics, provider };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ConnectEvent>| async move {
        let by = deadline::answer_by(
            Some(event.context.deadline),
            deadline::epoch_ms(SystemTime::now()),
            Instant::now(),
            deps.config.invocation_budget,
        );
        if by.source == BudgetSource::Configured {
            tracing::debug!(
                deadline_ms = event.context.deadline,
                budget_ms = u64::try_from(by.time_left.as_millis()).unwrap_or(u64::MAX),
                "no usable invocation deadline; using SECURE_IVR_INVOCATION_BUDGET_MS"
            );
        }
        Ok::<_, Error>(handle(&event.payload, deps, YearMonth::now_utc(), by.at).await)
    }))
    .await
}
