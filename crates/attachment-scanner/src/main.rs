//! `attachment-scanner`: the FILE_SCANNER Lambda's entry point. Wiring only; the handler lives
//! in `handler.rs`.
#![forbid(unsafe_code)]

use std::time::{Instant, SystemTime};

use attachment_scanner::aws::{
    ClientLimits, RekognitionModerator, S3Store, rekognition_client, s3_client, s3_endpoint_overridden,
};
use attachment_scanner::config::Config;
use attachment_scanner::deadline::{answer_by, epoch_ms};
use attachment_scanner::handler::{Deps, handle};
use attachment_scanner::log;
use attachment_scanner::metrics::StdoutMetrics;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    log::init();
    // A bad setting fails the cold start with a message naming the variable, not a call.
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let limits = ClientLimits::default();
    let path_style = s3_endpoint_overridden(&|k| std::env::var(k).ok());
    let store = S3Store::new(s3_client(aws_sdk_s3::config::Builder::from(&sdk), path_style, &limits));
    let moderator =
        RekognitionModerator::new(rekognition_client(aws_sdk_rekognition::config::Builder::from(&sdk), &limits));
    tracing::info!(
        bucket = %config.bucket,
        key_prefix = %config.key_prefix,
        max_bytes = config.policy.max_size,
        guardduty = config.guardduty.is_some(),
        "ready"
    );

    let metrics = StdoutMetrics;
    let deps = Deps { store: &store, moderator: &moderator, config: &config, metrics: &metrics };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let by = answer_by(
            Some(event.context.deadline),
            epoch_ms(SystemTime::now()),
            Instant::now(),
            deps.config.invocation_budget,
        );
        Ok::<_, Error>(handle(&event.payload, deps, by).await)
    }))
    .await
}
