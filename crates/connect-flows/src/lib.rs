#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::indexing_slicing)]

mod capture;
mod cert;
mod contract;
mod flow;
mod graph;
mod report;
mod states;

pub use capture::key_ids;
pub use contract::PLACEHOLDERS;
pub use flow::{Flow, MAX_CONTENT_LEN};
pub use report::{ConnectKey, Finding, FlowKind, FlowRef, Options, Placeholders, Report, Rule, Skipped};

/// Why content could not be read as a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Longer than Connect stores ([`MAX_CONTENT_LEN`]).
    TooLarge {
        /// The limit.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// Not JSON (position of the first error; the content itself is not repeated).
    NotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { max, found } => {
                write!(f, "the flow content is {found} bytes, more than Connect's {max}")
            }
            Self::NotJson { line, column } => write!(f, "the flow content is not JSON (line {line}, column {column})"),
        }
    }
}

impl std::error::Error for Error {}

/// A finding for content that could not be read at all (`Rule::ContentUnavailable`): callers use
/// it when Connect refuses to describe a flow or its content does not parse, so such a flow is
/// reported rather than passed.
#[must_use]
pub fn unavailable(flow: &FlowRef, why: &str) -> Finding {
    Finding {
        flow: flow.clone(),
        action: None,
        rule: Rule::ContentUnavailable,
        message: format!("the content could not be checked: {why}"),
    }
}

/// Applies every rule `options` asks for to one flow.
#[must_use]
pub fn check(flow_ref: &FlowRef, flow: &Flow, options: &Options) -> Report {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    let mut add = |rule: Rule, problems: graph::Problems| {
        findings.extend(problems.into_iter().map(|(action, message)| Finding {
            flow: flow_ref.clone(),
            action,
            rule,
            message,
        }));
    };
    let contract = options.contract;
    if contract {
        let shape = graph::shape(flow);
        let broken = !shape.is_empty() && flow.actions.is_empty();
        add(Rule::Shape, shape);
        if broken {
            return Report { flow: flow_ref.clone(), findings, skipped };
        }
        add(Rule::StartAction, graph::start(flow));
        add(Rule::TransitionTargets, graph::targets(flow));
        add(Rule::NoOrphans, graph::orphans(flow));
        add(Rule::BoundedRetries, graph::bounded_loops(flow));
    } else if flow.actions.is_empty() || flow.start_index().is_none() {
        // An instance's flow that is not Flow language at all: say so, never pass it.
        add(
            Rule::ContentUnavailable,
            vec![(None, "the content has no actions or no StartAction that names one".to_owned())],
        );
        return Report { flow: flow_ref.clone(), findings, skipped };
    }
    add(Rule::UnencryptedCapture, capture::unencrypted(flow));
    let mut by_rule = capture::keys_and_certificates(flow, options);
    match &options.lambda_arn {
        Some(ours) => by_rule.extend(capture::other_function(flow, ours)),
        None => skipped.push(Skipped {
            rule: Rule::StoredInputToOtherFunction,
            reason: "no Lambda ARN given (--lambda-arn or --stack): where the stored input goes is not checked"
                .to_owned(),
        }),
    }
    if options.keys.is_none() {
        skipped.push(Skipped {
            rule: Rule::UnknownKeyId,
            reason: "no instance keys given: key IDs and certificate-to-key matches are not checked".to_owned(),
        });
    }
    add(Rule::StoredInputCopiedToAttribute, capture::copied_to_attribute(flow));
    add(Rule::LoggingOffBeforeCapture, states::logging_off_before_capture(flow, contract));
    add(Rule::NoLoggingBetweenCaptureAndLambda, states::no_logging_between(flow, contract));
    add(Rule::RecordingOffBeforeCapture, states::recording_off_before_capture(flow, contract));
    add(Rule::NoRecordingBetweenCaptureAndLambda, states::no_recording_between(flow));
    add(Rule::AgentOnHoldDuringCapture, states::agent_on_hold_during_capture(flow, contract));
    if contract {
        add(Rule::AgentTakenOffHold, states::agent_taken_off_hold(flow));
        add(Rule::LoggingRestoredOnExit, states::logging_restored(flow));
        add(Rule::RecordingActions, contract::recording_actions(flow));
        add(Rule::RecordingResumedForAgent, states::recording_resumed_for_agent(flow));
        add(Rule::LambdaParameters, contract::lambda_parameters(flow));
        add(Rule::ExternalKeys, contract::external_keys(flow));
        if !flow.hands_off() {
            add(Rule::StatusBranches, contract::status_branches(flow));
        }
    }
    match options.placeholders {
        Placeholders::Required => add(Rule::Placeholders, contract::placeholders_required(flow)),
        Placeholders::Forbidden => add(Rule::NoPlaceholdersLeft, contract::placeholders_left(flow)),
        Placeholders::Ignore => {}
    }
    for (rule, action, message) in by_rule {
        findings.push(Finding { flow: flow_ref.clone(), action, rule, message });
    }
    findings.sort_by(|a, b| {
        a.rule.cmp(&b.rule).then_with(|| a.action.cmp(&b.action)).then_with(|| a.message.cmp(&b.message))
    });
    Report { flow: flow_ref.clone(), findings, skipped }
}

#[cfg(test)]
mod tests;
