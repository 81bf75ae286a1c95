//! The AWS payment stores against moto: the connector secret read with `GetSecretValue`, and the
//! replay record's conditional put, read-back and first-answer update in a real DynamoDB table
//! (moto enforces condition expressions). What moto cannot show: IAM refusing the role (moto
//! allows every call), KMS behind the secret, and the table's TTL deletion (moto does not expire
//! items).
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::{AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType};
use payments::{ErrorKind, OpaqueId, Outcome};
use secure_ivr_lambda::payment::aws::{DynamoReplay, SecretsManagerSource};
use secure_ivr_lambda::payment::{Claim, Claimed, ReplayStore, SecretSource, StoreError};
use test_support::moto::{endpoint, unique_prefix};

fn sdk_config(ep: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "secure-ivr-tests"),
        ))
        .endpoint_url(ep)
        .build()
}

fn name(prefix: &str) -> String {
    unique_prefix(prefix).trim_matches('/').replace('/', "-")
}

#[tokio::test]
async fn the_secret_is_read_from_secrets_manager() {
    let Some(ep) = endpoint("the_secret_is_read_from_secrets_manager") else { return };
    let conf = sdk_config(&ep);
    let client = aws_sdk_secretsmanager::Client::new(&conf);
    let created = client.create_secret().name(name("pay")).secret_string("hmac-key-for-tests").send().await.unwrap();
    let arn = created.arn().unwrap().to_owned();
    let source = SecretsManagerSource::new(client.clone());
    let secret = source.secret(&arn).await.unwrap();
    assert_eq!(secret.expose(), b"hmac-key-for-tests");
    // Rotated: the next read has the new value.
    client.put_secret_value().secret_id(&arn).secret_string("rotated-key").send().await.unwrap();
    assert_eq!(source.secret(&arn).await.unwrap().expose(), b"rotated-key");
    // A missing secret, and a binary one, are unusable; the message names the call, not a value.
    let missing = source.secret(&format!("{arn}-gone")).await.unwrap_err();
    assert!(matches!(&missing, StoreError::Invalid(m) if m.contains("ResourceNotFoundException")), "{missing:?}");
    let binary = client
        .create_secret()
        .name(name("bin"))
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(b"\x00\x01".to_vec()))
        .send()
        .await
        .unwrap();
    let e = source.secret(binary.arn().unwrap()).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.contains("no SecretString")), "{e:?}");
    // Nothing listening: unavailable, not a hang (the SDK's timeouts come from main.rs; here the
    // connection is refused at once).
    let down = aws_sdk_secretsmanager::Client::new(&sdk_config("http://127.0.0.1:9"));
    let e = SecretsManagerSource::new(down).secret(&arn).await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
}

#[tokio::test]
async fn the_replay_table_records_each_message_once() {
    let Some(ep) = endpoint("the_replay_table_records_each_message_once") else { return };
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&ep));
    let table = name("replay");
    client
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("MessageId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("MessageId").key_type(KeyType::Hash).build().unwrap())
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let replay = DynamoReplay::new(client.clone(), &table);
    let claim = |id: &str, contact: &str| Claim {
        message_id: id.into(),
        contact_id: contact.into(),
        now_unix: 1_800_000_000,
        expires_unix: 1_800_086_400,
    };
    let first = claim("00112233445566778899aabbccddeeff", "contact-a");
    assert_eq!(replay.claim(&first).await.unwrap(), Claimed::First);
    // The item as the template's table holds it: TTL attribute in epoch seconds.
    let item = client
        .get_item()
        .table_name(&table)
        .key("MessageId", aws_sdk_dynamodb::types::AttributeValue::S(first.message_id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["ExpiresAt"].as_n().unwrap(), "1800086400");
    assert_eq!(item["ContactId"].as_s().unwrap(), "contact-a");
    // Same contact before an answer is recorded; then with it; another contact is a replay.
    assert_eq!(replay.claim(&first).await.unwrap(), Claimed::SameContact(None));
    let answer = Outcome::Authorized { payment_id: OpaqueId::new("pay_123").unwrap() };
    replay.record(&first, &answer).await.unwrap();
    assert_eq!(replay.claim(&first).await.unwrap(), Claimed::SameContact(Some(answer)));
    assert_eq!(replay.claim(&claim(&first.message_id, "contact-b")).await.unwrap(), Claimed::OtherContact);
    // Another contact cannot overwrite the first answer (the update is conditional on the contact).
    let e = replay.record(&claim(&first.message_id, "contact-b"), &Outcome::Error { kind: ErrorKind::Rejected }).await;
    assert!(e.is_err(), "{e:?}");
    // Another message is independent.
    assert_eq!(replay.claim(&claim("ffeeddccbbaa99887766554433221100", "contact-b")).await.unwrap(), Claimed::First);
    // A table that does not exist: unusable, so nothing would be sent.
    let e = DynamoReplay::new(client, format!("{table}-missing")).claim(&first).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.contains("ResourceNotFoundException")), "{e:?}");
}
