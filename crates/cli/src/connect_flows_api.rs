//! Amazon Connect flows and flow modules of an instance: list (paged), read and replace content.

use aws_sdk_connect::Client;
use serde::Serialize;

use crate::error::{self, CliError, Exit, Result};

/// A flow or a flow module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A contact flow (`ListContactFlows`).
    Flow,
    /// A flow module (`ListContactFlowModules`).
    Module,
}

impl Kind {
    /// How the text output names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Flow => "flow",
            Kind::Module => "module",
        }
    }
}

/// One flow or module of the instance, with its published content when Connect gave it.
#[derive(Debug, Clone)]
pub(crate) struct InstanceFlow {
    /// Flow or module.
    pub(crate) kind: Kind,
    /// Its ID.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// The Flow language JSON; `None` when Describe* failed or returned none.
    pub(crate) content: Option<String>,
    /// Why `content` is `None`: the error code Describe* returned (never its content).
    pub(crate) unreadable_because: Option<String>,
}

impl InstanceFlow {
    /// How the flow rules name it.
    pub(crate) fn flow_ref(&self) -> connect_flows::FlowRef {
        let kind = match self.kind {
            Kind::Flow => connect_flows::FlowKind::Flow,
            Kind::Module => connect_flows::FlowKind::Module,
        };
        connect_flows::FlowRef { name: self.name.clone(), id: self.id.clone(), kind }
    }
}

/// `MaxResults` of `ListContactFlows` and `ListContactFlowModules`: the API's maximum (1 to 1000),
/// so an instance takes as few calls as Connect allows.
const PAGE_SIZE: i32 = 1000;

/// Why a Describe* gave no content, as an error code (the SDK's message can quote the request).
fn reason<E: aws_sdk_connect::error::ProvideErrorMetadata>(
    e: &aws_sdk_connect::error::SdkError<E, aws_sdk_connect::config::http::HttpResponse>,
) -> String {
    match e.as_service_error() {
        Some(s) => s.code().unwrap_or("an unnamed service error").to_owned(),
        None => "the call did not complete (network, timeout or retries exhausted)".to_owned(),
    }
}

/// What Describe* answered, as (content, why not).
fn content_or_reason<O, E>(
    answer: std::result::Result<O, aws_sdk_connect::error::SdkError<E, aws_sdk_connect::config::http::HttpResponse>>,
    content: impl FnOnce(O) -> Option<String>,
) -> (Option<String>, Option<String>)
where
    E: aws_sdk_connect::error::ProvideErrorMetadata,
{
    match answer {
        Ok(out) => match content(out) {
            Some(c) => (Some(c), None),
            None => (None, Some("Connect returned no content".to_owned())),
        },
        Err(e) => (None, Some(reason(&e))),
    }
}

fn not_found(instance_id: &str) -> CliError {
    CliError::new(
        Exit::NotFound,
        format!("Connect has no instance {instance_id} in this region"),
        "check --instance-id and --region",
    )
}

/// Every flow and flow module of the instance, each with its content (`ListContactFlows`,
/// `ListContactFlowModules` through every page, then `DescribeContactFlow` /
/// `DescribeContactFlowModule` for each). A Describe that fails leaves `content` empty so the
/// caller can say which flows it could not read; a List that fails is an error.
pub(crate) async fn list_with_content(client: &Client, instance_id: &str) -> Result<Vec<InstanceFlow>> {
    let flows = client
        .list_contact_flows()
        .instance_id(instance_id)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .items()
        .send()
        .collect::<std::result::Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                not_found(instance_id)
            } else {
                error::aws(&format!("listing the flows of instance {instance_id}"), e)
            }
        })?;
    let modules = client
        .list_contact_flow_modules()
        .instance_id(instance_id)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .items()
        .send()
        .collect::<std::result::Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                not_found(instance_id)
            } else {
                error::aws(&format!("listing the flow modules of instance {instance_id}"), e)
            }
        })?;
    let mut out = Vec::with_capacity(flows.len() + modules.len());
    for f in flows {
        let Some(id) = f.id() else { continue };
        let answer = client.describe_contact_flow().instance_id(instance_id).contact_flow_id(id).send().await;
        let (content, unreadable_because) = content_or_reason(answer, |d| d.contact_flow.and_then(|c| c.content));
        out.push(InstanceFlow {
            kind: Kind::Flow,
            id: id.to_owned(),
            name: f.name().unwrap_or_default().to_owned(),
            content,
            unreadable_because,
        });
    }
    for m in modules {
        let Some(id) = m.id() else { continue };
        let answer =
            client.describe_contact_flow_module().instance_id(instance_id).contact_flow_module_id(id).send().await;
        let (content, unreadable_because) =
            content_or_reason(answer, |d| d.contact_flow_module.and_then(|c| c.content));
        out.push(InstanceFlow {
            kind: Kind::Module,
            id: id.to_owned(),
            name: m.name().unwrap_or_default().to_owned(),
            content,
            unreadable_because,
        });
    }
    Ok(out)
}

/// The instance's security keys with their public keys (`ListSecurityKeys`, every page), as the
/// flow rules take them: a flow's `EncryptionKeyId` must be one of these, and its certificate
/// must hold that key.
pub(crate) async fn security_keys(client: &Client, instance_id: &str) -> Result<Vec<connect_flows::ConnectKey>> {
    let keys = crate::connect::security_key_list(client, instance_id).await?;
    Ok(keys
        .into_iter()
        .filter_map(|k| {
            let id = k.association_id?;
            Some(connect_flows::ConnectKey::from_pem(&id, k.key.as_deref().unwrap_or_default()))
        })
        .collect())
}

/// Replaces a flow's or module's content (`UpdateContactFlowContent` /
/// `UpdateContactFlowModuleContent`); Connect validates it and publishes it.
pub(crate) async fn update_content(
    client: &Client,
    instance_id: &str,
    flow: &InstanceFlow,
    content: &str,
) -> Result<()> {
    let what = format!("updating {} {:?} ({})", flow.kind.as_str(), flow.name, flow.id);
    let hint = "Connect refused the new content; the flow keeps its old key until fixed (see the message above)";
    match flow.kind {
        Kind::Flow => client
            .update_contact_flow_content()
            .instance_id(instance_id)
            .contact_flow_id(&flow.id)
            .content(content)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_invalid_contact_flow_exception()) {
                    CliError::new(Exit::Refused, format!("{what}: Connect says the content is not a valid flow"), hint)
                } else {
                    error::aws(&what, e)
                }
            }),
        Kind::Module => client
            .update_contact_flow_module_content()
            .instance_id(instance_id)
            .contact_flow_module_id(&flow.id)
            .content(content)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_invalid_contact_flow_module_exception()) {
                    CliError::new(
                        Exit::Refused,
                        format!("{what}: Connect says the content is not a valid module"),
                        hint,
                    )
                } else {
                    error::aws(&what, e)
                }
            }),
    }
}
