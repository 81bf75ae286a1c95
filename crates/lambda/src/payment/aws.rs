//! The AWS halves of the payment stores: the connector secret from Secrets Manager
//! (`GetSecretValue`) and the replay record in DynamoDB (a conditional `PutItem`, then `GetItem`
//! when the message is known, and `UpdateItem` for the first answer). Built in `main.rs` with the
//! same timeouts and retries as the SSM client: a caller is waiting on the phone.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use payments::{BoxFuture, ConnectorSecret, Outcome};
use zeroize::Zeroizing;

use super::stores::{Claim, Claimed, ReplayStore, SecretSource, StoreError};

/// The replay table's attribute names (the template creates the table with `MessageId` as its
/// partition key and `ExpiresAt` as its TTL attribute).
pub mod attributes {
    /// Partition key: the card message's ESDK message ID, lowercase hex.
    pub const MESSAGE_ID: &str = "MessageId";
    /// The contact the message was first used in.
    pub const CONTACT_ID: &str = "ContactId";
    /// Unix seconds of the first use.
    pub const CLAIMED_AT: &str = "ClaimedAt";
    /// Unix seconds after which DynamoDB may delete the record (TTL attribute).
    pub const EXPIRES_AT: &str = "ExpiresAt";
    /// The gateway's first answer, as `payments::Outcome` JSON (no card data in it).
    pub const OUTCOME: &str = "Outcome";
}

/// Error codes that mean the role may not use the secret or table (and KMS behind a secret).
const DENIED: &[&str] = &["AccessDeniedException", "AccessDenied", "KMSAccessDeniedException"];
/// Error codes that mean the secret or table does not exist or cannot be decrypted.
const INVALID: &[&str] = &["ResourceNotFoundException", "DecryptionFailure", "InvalidRequestException"];

fn store_error<E, R>(what: &str, err: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = err
        && let Some(code) = service.err().code()
    {
        let text = format!("{what}: {code}: {}", service.err().message().unwrap_or(""));
        if DENIED.contains(&code) {
            return StoreError::AccessDenied(text);
        }
        if INVALID.contains(&code) {
            return StoreError::Invalid(text);
        }
        return StoreError::Unavailable(text);
    }
    // The SDK's error text names the error code and message; it never echoes a secret value.
    StoreError::Unavailable(format!("{what}: {}", DisplayErrorContext(err)))
}

/// Reads `SecretString` with `GetSecretValue` (AWSCURRENT).
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerSource {
    /// Wraps a client (give it timeouts: see `main.rs`).
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

impl SecretSource for SecretsManagerSource {
    fn secret<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<ConnectorSecret, StoreError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| store_error("GetSecretValue", &e))?;
            // Owned, so the one copy this process makes is wiped when it is dropped.
            let value = Zeroizing::new(out.secret_string.unwrap_or_default());
            ConnectorSecret::new(value.as_bytes()).map_err(|_| {
                StoreError::Invalid(format!(
                    "GetSecretValue: {arn} has no SecretString of 1 to {} bytes (a binary secret is not read)",
                    payments::MAX_SECRET_LEN
                ))
            })
        })
    }
}

/// The replay table in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoReplay {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoReplay {
    /// Records in `table` (partition key `MessageId`, string).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl ReplayStore for DynamoReplay {
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, StoreError>> {
        use attributes::*;
        Box::pin(async move {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(MESSAGE_ID, s(&claim.message_id))
                .item(CONTACT_ID, s(&claim.contact_id))
                .item(CLAIMED_AT, n(claim.now_unix))
                .item(EXPIRES_AT, n(claim.expires_unix))
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", MESSAGE_ID)
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claimed::First),
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
                Err(e) => return Err(store_error("PutItem", &e)),
            }
            let got = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(MESSAGE_ID, s(&claim.message_id))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error("GetItem", &e))?;
            // Deleted by TTL between the two calls: a record that old is past its lifetime anyway,
            // but the safe reading is "used before", by nobody we know.
            let item: HashMap<String, AttributeValue> = got.item.unwrap_or_default();
            let contact = item.get(CONTACT_ID).and_then(|v| v.as_s().ok());
            if contact.map(String::as_str) != Some(claim.contact_id.as_str()) {
                return Ok(Claimed::OtherContact);
            }
            let first = item.get(OUTCOME).and_then(|v| v.as_s().ok()).and_then(|j| serde_json::from_str(j).ok());
            Ok(Claimed::SameContact(first))
        })
    }

    fn record<'a>(&'a self, claim: &'a Claim, outcome: &'a Outcome) -> BoxFuture<'a, Result<(), StoreError>> {
        use attributes::*;
        Box::pin(async move {
            let json = serde_json::to_string(outcome)
                .map_err(|e| StoreError::Invalid(format!("the answer does not serialise: {e}")))?;
            self.client
                .update_item()
                .table_name(&self.table)
                .key(MESSAGE_ID, s(&claim.message_id))
                .update_expression("SET #o = :o")
                .condition_expression("#c = :c")
                .expression_attribute_names("#o", OUTCOME)
                .expression_attribute_names("#c", CONTACT_ID)
                .expression_attribute_values(":o", s(&json))
                .expression_attribute_values(":c", s(&claim.contact_id))
                .send()
                .await
                .map_err(|e| store_error("UpdateItem", &e))?;
            Ok(())
        })
    }
}
