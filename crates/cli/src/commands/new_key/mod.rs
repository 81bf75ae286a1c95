//! Making one key: generate it, associate it with Connect, store it, write the public files.
//! `keygen` and `rotate` call these steps; each idea has its own module.

mod created;
mod options;
mod preflight;

use std::collections::BTreeMap;

use time::OffsetDateTime;

pub(crate) use created::CreatedKey;
pub(crate) use options::KeyOptions;
pub(crate) use preflight::{preflight_names, preflight_outputs};

use crate::aws::Aws;
use crate::error::{CliError, Result};
use crate::key_status::KeyStatus;
use crate::keymat::{self, Generated};
use crate::output::{progress, rfc3339};
use crate::{files, store};

/// Where to store a new key.
pub(crate) enum Destination<'a> {
    /// Associate with this instance and store under the assigned key ID.
    Connect(&'a str),
    /// Store under the fingerprint until `activate`.
    Pending,
    /// Do not store (requires `--private-key-out`).
    Nowhere,
}

/// Generates, associates and stores one key under `kms` (None only for [`Destination::Nowhere`]);
/// writes the requested files.
pub(crate) async fn create_key(
    aws: Option<&Aws>,
    dest: Destination<'_>,
    opts: &KeyOptions,
    kms: Option<&store::KmsChoice>,
) -> Result<CreatedKey> {
    let now = OffsetDateTime::now_utc();
    let cert_opts = keymat::CertOptions {
        subject: &opts.subject,
        not_before: opts.valid_from.unwrap_or(now),
        days: opts.validity_days,
    };
    progress(format!("generating an RSA-{} key pair and certificate ...", opts.bits));
    let g = keymat::generate(opts.bits, &cert_opts)?;

    let mut created = CreatedKey {
        status: KeyStatus::NotStored,
        key_id: None,
        instance_id: None,
        fingerprint: g.fingerprint.clone(),
        bits: g.bits,
        parameter: None,
        parameter_version: None,
        kms_key_id: kms.map(|k| k.key_id.clone()),
        certificate_not_before: rfc3339(g.not_before),
        certificate_not_after: rfc3339(g.not_after),
        certificate_pem: g.certificate_pem.clone(),
        public_key_pem: g.public_pem.clone(),
        files: Vec::new(),
    };

    match (dest, aws, kms) {
        (Destination::Nowhere, _, _) => {}
        (Destination::Pending, Some(aws), Some(kms)) => {
            let name = store::name_for_pending(&aws.prefix, &g.fingerprint)?;
            store::check_name(&name, &aws.region())?;
            let version = put(aws, &name, &g, opts, kms, &KeyStatus::Pending).await?;
            created.status = KeyStatus::Pending;
            created.parameter = Some(name);
            created.parameter_version = Some(version);
        }
        (Destination::Connect(instance), Some(aws), Some(kms)) => {
            progress(format!("associating the public key with Connect instance {instance} ..."));
            let key_id = crate::connect::associate(&aws.connect(), instance, &g.public_pem).await?;
            let stored = match store::name_for_key(&aws.prefix, &key_id) {
                Ok(name) => store::check_name(&name, &aws.region()).map(|()| name),
                Err(e) => Err(e),
            };
            let stored = match stored {
                Ok(name) => put(aws, &name, &g, opts, kms, &KeyStatus::Active).await.map(|v| (name, v)),
                Err(e) => Err(e),
            };
            match stored {
                Ok((name, version)) => {
                    created.status = KeyStatus::Active;
                    created.key_id = Some(key_id);
                    created.instance_id = Some(instance.to_owned());
                    created.parameter = Some(name);
                    created.parameter_version = Some(version);
                }
                Err(e) => {
                    // A Connect key without its private key makes every call fail: undo.
                    progress(format!("storing failed; removing key {key_id} from Connect again ..."));
                    let undo = crate::connect::disassociate(&aws.connect(), instance, &key_id).await;
                    let e = match undo {
                        Ok(()) => e,
                        Err(u) => e.with_hint(format!(
                            "Connect still holds key {key_id} with no private key ({}); remove it: secure-ivr retire --instance-id {instance} --key-id {key_id} --force",
                            u.message
                        )),
                    };
                    return Err(e);
                }
            }
        }
        (_, _, _) => return Err(CliError::bare(crate::error::Exit::Internal, "AWS configuration or KMS key missing")),
    }

    let stem = created.key_id.clone().unwrap_or_else(|| g.fingerprint.chars().take(16).collect());
    if let Some(dir) = &opts.out_dir {
        let cert = dir.join(format!("{stem}.cert.pem"));
        files::write_public(&cert, g.certificate_pem.as_bytes())?;
        let public = dir.join(format!("{stem}.public.pem"));
        files::write_public(&public, g.public_pem.as_bytes())?;
        created.files.push(cert.display().to_string());
        created.files.push(public.display().to_string());
    }
    if let Some(p) = &opts.private_key_out {
        files::write_secret(p, g.private_pem.as_bytes())?;
        created.files.push(format!("{} (private key, mode 0600)", p.display()));
    }
    Ok(created)
}

async fn put(
    aws: &Aws,
    name: &str,
    g: &Generated,
    opts: &KeyOptions,
    kms: &store::KmsChoice,
    status: &KeyStatus,
) -> Result<i64> {
    let creator = store::fit_tag_value(&aws.caller_arn().await.unwrap_or_else(|| "unknown".into()));
    let mut tags: BTreeMap<String, String> = opts.tags.iter().cloned().collect();
    tags.insert(store::TAG_FINGERPRINT.into(), g.fingerprint.clone());
    tags.insert(store::TAG_CERT_NOT_AFTER.into(), rfc3339(g.not_after));
    tags.insert(store::TAG_CREATED_BY.into(), creator);
    tags.insert(store::TAG_STATUS.into(), status.as_str().into());
    tags.insert(store::TAG_BITS.into(), g.bits.to_string());
    progress(format!(
        "storing the private key as SecureString {name} under KMS key {} ({}) ...",
        kms.key_id, kms.source
    ));
    store::put_new(
        &aws.ssm(),
        &store::NewKey {
            name,
            pem: &g.private_pem,
            kms_key_id: &kms.key_id,
            description: &opts.description,
            tags: &tags,
        },
    )
    .await
}
