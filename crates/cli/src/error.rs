//! The CLI's one error type: a sentence saying what failed, and the next thing to try.

use std::fmt;

use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Process exit codes. Stable: scripts branch on them; documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Unexpected internal failure.
    Internal = 1,
    // 2 is clap's usage error.
    /// No credentials, no or malformed region, bad profile.
    Config = 3,
    /// An AWS call failed: access denied, throttled, unreachable endpoint, service error.
    Aws = 4,
    /// The key ID, parameter or association does not exist.
    NotFound = 5,
    /// Bad input: corrupt PEM, malformed ciphertext, expired or unusable certificate, bad template.
    Input = 6,
    /// Decryption failed: wrong key or altered message.
    Decrypt = 7,
    /// Refused for safety: last live key, Connect's two-key limit, file exists.
    Refused = 8,
    /// `check`, `audit` or `flow-audit` found problems.
    Findings = 9,
}

/// Help text listing the exit codes, shown after `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  internal error
  2  usage error (bad flags or arguments)
  3  configuration: no credentials, no or malformed region, unknown profile
  4  AWS call failed: access denied, throttled, endpoint unreachable, service error
  5  not found: unknown key ID, parameter or Connect association
  6  bad input: corrupt PEM, malformed ciphertext, expired certificate, bad template
  7  decryption failed: wrong private key or altered message
  8  refused: would retire the last live key, Connect's two-key limit, output file exists
  9  findings: `check`, `audit` or `flow-audit` found something that needs attention";

/// An error the user can act on.
#[derive(Debug)]
pub(crate) struct CliError {
    /// Exit code.
    pub(crate) exit: Exit,
    /// What failed.
    pub(crate) message: String,
    /// What to try next.
    pub(crate) hint: Option<String>,
}

impl CliError {
    /// An error with a next step.
    pub(crate) fn new(exit: Exit, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { exit, message: message.into(), hint: Some(hint.into()) }
    }

    /// An error whose message already says everything.
    pub(crate) fn bare(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into(), hint: None }
    }

    /// Bad input with a next step.
    pub(crate) fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Exit::Input, message, hint)
    }

    /// Replaces the hint.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  next: {hint}")?;
        }
        Ok(())
    }
}

/// Result of a command.
pub(crate) type Result<T> = std::result::Result<T, CliError>;

/// Turns an AWS SDK error into a sentence; `what` names the call ("reading /x from SSM").
pub(crate) fn aws<E, R>(what: &str, err: SdkError<E, R>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("UnknownError");
            let msg = e.message().unwrap_or("no message");
            let text = format!("{what} failed: {code}: {msg}");
            match code {
                "ParameterNotFound" | "ResourceNotFoundException" | "ParameterVersionNotFound" => CliError::new(
                    Exit::NotFound,
                    text,
                    "check the key ID, --prefix and --region; `secure-ivr list` shows what exists",
                ),
                "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => CliError::new(
                    Exit::Aws,
                    text,
                    "the caller's IAM policy does not allow this; see the README's IAM section, or use --profile for an authorised role",
                ),
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "SignatureDoesNotMatch" => CliError::new(
                    Exit::Config,
                    text,
                    "the credentials are invalid or expired; refresh them (aws sso login, new session) or pick another --profile",
                ),
                "ThrottlingException" | "TooManyUpdates" | "Throttling" => {
                    CliError::new(Exit::Aws, text, "AWS is throttling the calls; wait a minute and retry")
                }
                _ => CliError::new(Exit::Aws, text, "check --region and --endpoint-url; rerun with -v for details"),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => CliError::new(
            Exit::Aws,
            format!("{what} failed: could not reach the service ({})", DisplayErrorContext(&err)),
            "check the network, --region and --endpoint-url (and AWS_ENDPOINT_URL* variables)",
        ),
        _ => CliError::new(
            Exit::Aws,
            format!("{what} failed: {}", DisplayErrorContext(&err)),
            "rerun with -v; check credentials, --region and --endpoint-url",
        ),
    }
}

/// Maps a message-format error from `esdk-message` to an exit code and a next step.
pub(crate) fn esdk(what: &str, err: esdk_message::Error) -> CliError {
    use esdk_message::Error as E;
    let text = format!("{what}: {err}");
    match err {
        E::InvalidKey(_) => CliError::input(
            text,
            "give an unencrypted RSA key or certificate in PEM (BEGIN PRIVATE KEY / PUBLIC KEY / CERTIFICATE)",
        ),
        E::NoMatchingKey => CliError::new(
            Exit::Decrypt,
            text,
            "the private key does not match the key ID in the message; `secure-ivr inspect` shows the key ID it needs",
        ),
        E::HeaderAuthFailed | E::FrameAuthFailed(_) | E::SignatureInvalid | E::CommitmentMismatch => CliError::new(
            Exit::Decrypt,
            text,
            "the message was altered or truncated in transit; capture it again from the contact attribute",
        ),
        E::Backend(_) => CliError::bare(Exit::Internal, text),
        _ => CliError::input(
            text,
            "give the ciphertext exactly as Connect stored it (base64 text or raw bytes); `secure-ivr inspect` describes it",
        ),
    }
}

/// An I/O error on a named file.
pub(crate) fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> CliError {
    let exit = if err.kind() == std::io::ErrorKind::AlreadyExists { Exit::Refused } else { Exit::Input };
    let hint = match err.kind() {
        std::io::ErrorKind::NotFound => "check the path",
        std::io::ErrorKind::AlreadyExists => "choose another path or remove the existing file first",
        std::io::ErrorKind::PermissionDenied => "check the file's permissions",
        _ => "check the path and the disk",
    };
    CliError::new(exit, format!("{what} {}: {err}", path.display()), hint)
}
