//! `bootstrap`: the Lambda entry point. Wiring only; the handler lives in `handler.rs`.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use keystore::{KeyStore, SsmParameterSource};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use secure_ivr_lambda::deadline::{self, BudgetSource};
use secure_ivr_lambda::metrics::StdoutMetrics;
use secure_ivr_lambda::payment::aws::{DynamoReplay, SecretsManagerSource};
use secure_ivr_lambda::payment::{PaymentService, PaymentSettings};
use secure_ivr_lambda::{Config, ConnectEvent, Deps, YearMonth, handle, logging};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    // A bad setting fails the cold start with a message naming the variable, not a call.
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
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
    let payments = match &config.payment {
        PaymentSettings::None => None,
        PaymentSettings::On(settings) => {
            let secrets = aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&sdk)
                    .timeout_config(config.ssm.timeout_config())
                    .retry_config(config.ssm.retry_config())
                    .build(),
            );
            let table = aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .timeout_config(config.ssm.timeout_config())
                    .retry_config(config.ssm.retry_config())
                    .build(),
            );
            let service = PaymentService::new(
                settings.clone(),
                Arc::new(SecretsManagerSource::new(secrets)),
                Arc::new(DynamoReplay::new(table, settings.replay_table.clone())),
            );
            // Not fatal, like the key cache: a call reads the secret again if this fails.
            let by = Instant::now() + Duration::from_secs(2);
            match service.warm(by).await {
                Ok(()) => tracing::info!(connector = service.connector_name(), "payment connector ready"),
                Err(e) => tracing::warn!(error = %e, "could not read the payment connector secret"),
            }
            Some(service)
        }
    };
    tracing::info!(
        prefix = %config.keystore.prefix,
        legacy = config.keystore.legacy_parameter.is_some(),
        payments = payments.as_ref().map_or("none", PaymentService::connector_name),
        "ready"
    );

    let metrics = StdoutMetrics;
    let deps = Deps { keys: &keys, config: &config, metrics: &metrics, provider, payments: payments.as_ref() };
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
