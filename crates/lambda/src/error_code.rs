//! The stable error codes a flow branches on and an alarm counts, and which failure maps to
//! which.

use keystore::KeyStoreError;

/// Stable error codes a flow can branch on and an alarm can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The event carries no encrypted parameter (check the flow's function input parameters).
    NoEncryptedInput,
    /// The value is not a Connect-shaped ESDK message (truncated, altered structure, wrong suite,
    /// more than one data key), or its `<Name>Type` is unknown.
    MalformedCiphertext,
    /// No private key is stored for the message's key ID (nor a legacy one).
    KeyNotFound,
    /// The stored key is not a usable RSA private key (not PEM, public key, too small).
    KeyInvalid,
    /// SSM could not be reached in time (or throttled): retry in the flow or fail over.
    KeyStoreUnavailable,
    /// SSM, or the KMS key behind the parameter, refused the function's role: a permanent
    /// misconfiguration (not retried; remembered briefly), fix the role or key policy.
    KeyAccessDenied,
    /// The footer signature does not verify: the ciphertext was altered.
    SignatureInvalid,
    /// The data key or an authentication tag did not verify (wrong key for this key ID, or
    /// altered ciphertext).
    DecryptFailed,
    /// Unexpected failure of the crypto backend.
    Internal,
    /// Payment (`PaymentStatus=Error`): this card ciphertext was already used in another contact;
    /// the gateway was not called (a replayed capture: investigate who edited the flow).
    Replay,
    /// Payment: `PaymentAmount`, `PaymentCurrency` or `PaymentOperation` (named in
    /// `PaymentParameter`) is missing, malformed or not allowed with the others: fix the flow.
    PaymentParameterInvalid,
    /// Payment: the event has no card input, several, or more than one expiry or security code,
    /// or a ContactId the gateway cannot carry.
    PaymentInputInvalid,
    /// Payment: the connector secret or the replay table could not be read in time (or was
    /// refused); nothing was sent. Retry or transfer.
    PaymentUnavailable,
    /// Payment: the gateway refused without charging (`PaymentErrorKind` says why).
    PaymentGatewayError,
}

impl ErrorCode {
    /// The name in responses, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoEncryptedInput => "NoEncryptedInput",
            Self::MalformedCiphertext => "MalformedCiphertext",
            Self::KeyNotFound => "KeyNotFound",
            Self::KeyInvalid => "KeyInvalid",
            Self::KeyStoreUnavailable => "KeyStoreUnavailable",
            Self::KeyAccessDenied => "KeyAccessDenied",
            Self::SignatureInvalid => "SignatureInvalid",
            Self::DecryptFailed => "DecryptFailed",
            Self::Internal => "Internal",
            Self::Replay => "Replay",
            Self::PaymentParameterInvalid => "PaymentParameterInvalid",
            Self::PaymentInputInvalid => "PaymentInputInvalid",
            Self::PaymentUnavailable => "PaymentUnavailable",
            Self::PaymentGatewayError => "PaymentGatewayError",
        }
    }

    /// The code for a message error.
    pub fn from_message_error(e: &esdk_message::Error) -> Self {
        use esdk_message::Error as E;
        match e {
            E::SignatureInvalid | E::InvalidSignaturePublicKey => Self::SignatureInvalid,
            E::HeaderAuthFailed | E::FrameAuthFailed(_) | E::CommitmentMismatch | E::NoMatchingKey => {
                Self::DecryptFailed
            }
            E::InvalidKey(_) => Self::KeyInvalid,
            // The data key is not for an AmazonConnect key ID: no stored key can be asked for.
            E::WrongKeyProvider | E::KeyIdNotUtf8 => Self::KeyNotFound,
            E::Backend(_) | E::InvalidArgument(_) => Self::Internal,
            _ => Self::MalformedCiphertext,
        }
    }

    /// The code for a key store error.
    pub fn from_keystore_error(e: &KeyStoreError) -> Self {
        match e {
            KeyStoreError::Unavailable(_) | KeyStoreError::CredentialsRejected(_) => Self::KeyStoreUnavailable,
            KeyStoreError::AccessDenied { .. } => Self::KeyAccessDenied,
            KeyStoreError::InvalidKey { .. } | KeyStoreError::KeyTooSmall { .. } => Self::KeyInvalid,
            KeyStoreError::InvalidConfiguration(_) => Self::Internal,
            _ => Self::KeyNotFound,
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esdk_message::Error as E;

    #[test]
    fn message_errors_map_to_the_documented_codes() {
        for (e, code) in [
            (E::SuiteNotAllowed(0x0178), ErrorCode::MalformedCiphertext),
            (E::TooManyEncryptedDataKeys { max: 1, found: 2 }, ErrorCode::MalformedCiphertext),
            (E::NotAMessage, ErrorCode::MalformedCiphertext),
            (E::WrongKeyProvider, ErrorCode::KeyNotFound),
            (E::KeyIdNotUtf8, ErrorCode::KeyNotFound),
            (E::SignatureInvalid, ErrorCode::SignatureInvalid),
            (E::HeaderAuthFailed, ErrorCode::DecryptFailed),
            (E::NoMatchingKey, ErrorCode::DecryptFailed),
        ] {
            assert_eq!(ErrorCode::from_message_error(&e), code, "{e:?}");
        }
    }

    #[test]
    fn key_store_errors_map_to_the_documented_codes() {
        let unavailable = KeyStoreError::Unavailable("down".into());
        assert_eq!(ErrorCode::from_keystore_error(&unavailable), ErrorCode::KeyStoreUnavailable);
        assert_eq!(ErrorCode::KeyStoreUnavailable.to_string(), "KeyStoreUnavailable");
    }
}
