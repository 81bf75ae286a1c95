//! What a check is told (options, Connect's keys) and what it answers (findings, skipped rules).

use serde::Serialize;

/// Whether the content is a flow or a flow module (`EndFlowModuleExecution` ends a module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// A contact flow (`DescribeContactFlow`).
    Flow,
    /// A flow module (`DescribeContactFlowModule`).
    Module,
}

/// The flow a finding is about: its `Name` and `Id` as Connect lists them (for a file: the path
/// as name and as ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowRef {
    /// `Name`.
    pub name: String,
    /// `Id`.
    pub id: String,
    /// Flow or module.
    pub kind: FlowKind,
}

/// Stable rule codes; scripts and reports key on them (kebab-case in JSON and text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    // --- security rules: every flow of an instance ---
    /// A Store customer input block stores the input without `InputEncryption`.
    UnencryptedCapture,
    /// `InputEncryption.EncryptionKeyId` names no key the instance has (or is set at run time).
    UnknownKeyId,
    /// The certificate in `InputEncryption.Key` expires within the warning window, or has expired.
    CertificateExpiring,
    /// The certificate is not valid yet.
    CertificateNotYetValid,
    /// The certificate's public key is not the key Connect holds under that key ID.
    CertificateKeyMismatch,
    /// `InputEncryption.Key` is not a PEM X.509 certificate.
    CertificateUnreadable,
    /// Flow logging is on while the input is captured (it is assumed on at the start).
    LoggingOffBeforeCapture,
    /// A block turns flow logging on between a capture and the Lambda that receives it.
    NoLoggingBetweenCaptureAndLambda,
    /// Recording is (or may be) on while the input is captured (assumed on at the start).
    RecordingOffBeforeCapture,
    /// A block turns recording on between a capture and the Lambda that receives it.
    NoRecordingBetweenCaptureAndLambda,
    /// The stored input goes to a Lambda function other than ours.
    StoredInputToOtherFunction,
    /// The stored input goes to a function whose ARN is only known at run time.
    DynamicFunctionArn,
    /// The stored input is copied into a contact attribute (every later Lambda and the contact
    /// record then carry it).
    StoredInputCopiedToAttribute,
    /// In a flow that uses the hold block, a capture (or, for our flows, the capture module) is
    /// reached with the agent not on hold: the agent would hear the tones.
    AgentOnHoldDuringCapture,
    /// The content could not be read or parsed, so nothing about it is known.
    ContentUnavailable,
    // --- contract rules: the flows this project ships (`flows/*.json`) ---
    /// The documented document shape (Version, StartAction, Actions with their four members).
    Shape,
    /// `StartAction` names an action.
    StartAction,
    /// Every transition target exists.
    TransitionTargets,
    /// Every action is reachable from `StartAction`.
    NoOrphans,
    /// Every cycle passes through a `Loop` block.
    BoundedRetries,
    /// Logging is back on on every exit.
    LoggingRestoredOnExit,
    /// Recording blocks in their documented shape.
    RecordingActions,
    /// Recording is back on before the contact reaches an agent.
    RecordingResumedForAgent,
    /// The agent is taken off hold again on every exit of a flow that put it on hold.
    AgentTakenOffHold,
    /// The Lambda's parameters: time limit, response type, declared value types.
    LambdaParameters,
    /// Only `$.External` keys the Lambda returns are read.
    ExternalKeys,
    /// A Compare on `$.External.Status` with a branch for every status.
    StatusBranches,
    /// The template's placeholders are where `secure-ivr flow` fills them.
    Placeholders,
    /// No placeholder left in a rendered flow.
    NoPlaceholdersLeft,
}

impl Rule {
    /// The stable code (as serialised).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::UnencryptedCapture => "unencrypted-capture",
            Self::UnknownKeyId => "unknown-key-id",
            Self::CertificateExpiring => "certificate-expiring",
            Self::CertificateNotYetValid => "certificate-not-yet-valid",
            Self::CertificateKeyMismatch => "certificate-key-mismatch",
            Self::CertificateUnreadable => "certificate-unreadable",
            Self::LoggingOffBeforeCapture => "logging-off-before-capture",
            Self::NoLoggingBetweenCaptureAndLambda => "no-logging-between-capture-and-lambda",
            Self::RecordingOffBeforeCapture => "recording-off-before-capture",
            Self::NoRecordingBetweenCaptureAndLambda => "no-recording-between-capture-and-lambda",
            Self::StoredInputToOtherFunction => "stored-input-to-other-function",
            Self::DynamicFunctionArn => "dynamic-function-arn",
            Self::StoredInputCopiedToAttribute => "stored-input-copied-to-attribute",
            Self::AgentOnHoldDuringCapture => "agent-on-hold-during-capture",
            Self::ContentUnavailable => "content-unavailable",
            Self::Shape => "shape",
            Self::StartAction => "start-action",
            Self::TransitionTargets => "transition-targets",
            Self::NoOrphans => "no-orphans",
            Self::BoundedRetries => "bounded-retries",
            Self::LoggingRestoredOnExit => "logging-restored-on-exit",
            Self::RecordingActions => "recording-actions",
            Self::RecordingResumedForAgent => "recording-resumed-for-agent",
            Self::AgentTakenOffHold => "agent-taken-off-hold",
            Self::LambdaParameters => "lambda-parameters",
            Self::ExternalKeys => "external-keys",
            Self::StatusBranches => "status-branches",
            Self::Placeholders => "placeholders",
            Self::NoPlaceholdersLeft => "no-placeholders-left",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem in one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The flow.
    pub flow: FlowRef,
    /// The action (`Identifier`), when the problem sits in one.
    pub action: Option<String>,
    /// The rule.
    pub rule: Rule,
    /// What is wrong, naming actions and paths; never a certificate's or an input's value.
    pub message: String,
}

/// A rule that was not applied, and why (the report says so rather than passing silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The rule.
    pub rule: Rule,
    /// Why.
    pub reason: String,
}

/// The result for one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The flow.
    pub flow: FlowRef,
    /// Problems, in rule order.
    pub findings: Vec<Finding>,
    /// Rules not applied.
    pub skipped: Vec<Skipped>,
}

/// A security key the instance holds (`ListSecurityKeys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectKey {
    /// `AssociationId`: the key ID flows name in `EncryptionKeyId`.
    pub key_id: String,
    /// The public key as SubjectPublicKeyInfo DER; `None` when Connect's PEM did not parse.
    pub public_key_spki: Option<Vec<u8>>,
}

impl ConnectKey {
    /// From `ListSecurityKeys`' `AssociationId` and `Key` (a `PUBLIC KEY` PEM).
    #[must_use]
    pub fn from_pem(key_id: &str, pem: &str) -> Self {
        Self { key_id: key_id.to_owned(), public_key_spki: crate::cert::public_key_spki(pem) }
    }
}

/// What to do about `{{KEY_ID}}`, `{{CERTIFICATE}}` and `{{LAMBDA_ARN}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// A template (`flows/*.json`): each must be where `secure-ivr flow` fills it, and no other `{{NAME}}`.
    Required,
    /// A rendered flow: none may be left.
    Forbidden,
    /// Not checked (an instance's flows).
    Ignore,
}

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// The instance's keys; `None` skips the key-ID and key-match rules (and says so).
    pub keys: Option<Vec<ConnectKey>>,
    /// Our function; `None` skips the other-function rule (and says so).
    pub lambda_arn: Option<String>,
    /// Now, in seconds since the Unix epoch (the crate has no clock).
    pub now_unix: i64,
    /// Certificates expiring within this many days are reported.
    pub warn_days: u32,
    /// Also apply the contract rules (the flows this project ships).
    pub contract: bool,
    /// Placeholder handling.
    pub placeholders: Placeholders,
}
