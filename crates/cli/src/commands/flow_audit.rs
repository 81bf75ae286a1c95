//! `secure-ivr flow-audit`: every flow and flow module of an instance through the rules of the
//! `connect-flows` crate (the one implementation of them).

use std::fmt;

use connect_flows::{Finding, Flow, FlowKind, Options, Placeholders, Rule, Skipped};
use serde::Serialize;

use crate::commands::Outcome;
use crate::connect_flows_api::{self, InstanceFlow, Kind};
use crate::error::{CliError, Result};
use crate::output::{emit, progress};
use crate::stack::StackArgs;
use crate::{Ctx, connect};

/// Audit how every flow and flow module of a Connect instance captures sensitive input: a Store
/// customer input block without InputEncryption; an EncryptionKeyId the instance no longer holds
/// (ListSecurityKeys); a certificate that expires within --warn-days, is not valid yet, or does
/// not hold that key; flow logging or recording on where the input is captured or turned on
/// between the capture and the Lambda; the stored input handed to a function other than ours
/// (--lambda-arn, or the FunctionArn output of --stack; without either that rule is skipped and
/// the report says so) or copied into a contact attribute; in a flow that uses the Hold customer
/// or agent block, a capture reached with the agent not on hold. A flow Connect will not describe
/// is a finding, not a pass. Exit 9 on any finding; each names the flow (Name and Id) and the
/// action.
/// With --file, flow files (flows/*.json) are checked instead, with this project's contract rules
/// as well, and no AWS call is made.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance: its ID (a UUID) or its instance ARN.
    #[arg(long, value_name = "ID", required_unless_present = "files", conflicts_with = "files")]
    pub(crate) instance_id: Option<String>,
    /// Check this flow file instead of an instance (repeatable): the security rules and the
    /// contract rules of the flows this project ships (shape, graph, retries, recording blocks,
    /// the Lambda's parameters and answers, placeholders).
    #[arg(long = "file", value_name = "PATH")]
    pub(crate) files: Vec<std::path::PathBuf>,
    /// With --file: the files are rendered flows, so no {{...}} placeholder may be left (default:
    /// templates, whose placeholders must be where `secure-ivr flow` fills them).
    #[arg(long, requires = "files")]
    pub(crate) rendered: bool,
    /// Our decrypting function: stored input sent to any other function is a finding. A version
    /// or alias of it (`...:function:NAME:live`) counts as ours.
    #[arg(long, value_name = "ARN", conflicts_with = "stack")]
    pub(crate) lambda_arn: Option<String>,
    /// Read our function's ARN from this CloudFormation stack's FunctionArn output instead.
    #[arg(long, value_name = "NAME")]
    pub(crate) stack: Option<String>,
    /// Report certificates that expire within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub(crate) warn_days: u32,
}

/// One flow or module looked at.
#[derive(Debug, Serialize)]
pub(crate) struct Checked {
    /// Flow or module.
    pub(crate) kind: Kind,
    /// Its ID.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Identifiers of its Store customer input blocks (empty: it captures nothing).
    pub(crate) captures: Vec<String>,
    /// Number of findings in it.
    pub(crate) findings: usize,
}

/// The whole audit.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The instance ID audited (`None` for --file).
    pub(crate) instance_id: Option<String>,
    /// Our function, when known.
    pub(crate) lambda_arn: Option<String>,
    /// Where it came from: `--lambda-arn`, `stack NAME`, or none.
    pub(crate) lambda_arn_source: String,
    /// Keys the instance holds (IDs only).
    pub(crate) key_ids: Vec<String>,
    /// The warning window in days.
    pub(crate) warn_days: u32,
    /// Every flow and module, in the order Connect listed them.
    pub(crate) flows: Vec<Checked>,
    /// Every finding, flow by flow.
    pub(crate) findings: Vec<Finding>,
    /// Rules not applied, once each, with the reason.
    pub(crate) skipped: Vec<Skipped>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let modules = self.flows.iter().filter(|c| c.kind == Kind::Module).count();
        let capturing = self.flows.iter().filter(|c| !c.captures.is_empty()).count();
        let flows = self.flows.len() - modules;
        match &self.instance_id {
            Some(id) => writeln!(
                f,
                "instance {id}: {flows} flows and {modules} modules, {capturing} of them capture input; {} security keys",
                self.key_ids.len()
            )?,
            None => writeln!(f, "files: {flows} flows and {modules} modules, {capturing} of them capture input")?,
        }
        match &self.lambda_arn {
            Some(arn) => writeln!(f, "our function: {arn} (from {})", self.lambda_arn_source)?,
            None => writeln!(f, "our function: not given")?,
        }
        for x in &self.findings {
            let kind = match x.flow.kind {
                FlowKind::Flow => "flow",
                FlowKind::Module => "module",
            };
            let at = x.action.as_deref().map(|a| format!(" action {a}")).unwrap_or_default();
            writeln!(f, "FINDING  {}  {kind} {:?} ({}){at}: {}", x.rule, x.flow.name, x.flow.id, x.message)?;
        }
        for s in &self.skipped {
            writeln!(f, "SKIPPED  {}: {}", s.rule, s.reason)?;
        }
        writeln!(f, "{} findings in {} flows and modules", self.findings.len(), self.flows.len())
    }
}

/// Our function's ARN must at least look like one: a typo would make every capture a finding.
fn check_lambda_arn(arn: &str) -> Result<String> {
    let arn = arn.trim();
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = parts.len() >= 7
        && parts.len() <= 8
        && parts.first() == Some(&"arn")
        && parts.get(2) == Some(&"lambda")
        && parts.get(5) == Some(&"function")
        && parts.iter().all(|p| !p.is_empty());
    if ok {
        Ok(arn.to_owned())
    } else {
        Err(CliError::input(
            format!("--lambda-arn {arn:?} is not a Lambda function ARN"),
            "give arn:aws:lambda:REGION:ACCOUNT:function:NAME (the stack's FunctionArn output), or pass --stack NAME",
        ))
    }
}

/// Checks one flow of the instance: a flow with no content, or content that does not parse, is a
/// finding (`content-unavailable`).
pub(crate) fn audit_one(f: &InstanceFlow, options: &Options) -> (Vec<String>, connect_flows::Report) {
    let who = f.flow_ref();
    let unavailable = |why: String| connect_flows::Report {
        flow: who.clone(),
        findings: vec![connect_flows::unavailable(&who, &why)],
        skipped: Vec::new(),
    };
    let Some(content) = f.content.as_deref() else {
        let why = f.unreadable_because.clone().unwrap_or_else(|| "Connect returned no content".to_owned());
        let call = match f.kind {
            Kind::Flow => "DescribeContactFlow",
            Kind::Module => "DescribeContactFlowModule",
        };
        return (Vec::new(), unavailable(format!("{call}: {why}")));
    };
    match Flow::parse(content) {
        Ok(flow) => {
            let captures = flow.captures().into_iter().map(str::to_owned).collect();
            (captures, connect_flows::check(&who, &flow, options))
        }
        Err(e) => (Vec::new(), unavailable(e.to_string())),
    }
}

/// Adds one flow's result to the report.
fn add(report: &mut Report, kind: Kind, id: &str, name: &str, captures: Vec<String>, r: connect_flows::Report) {
    for s in r.skipped {
        if !report.skipped.iter().any(|k| k.rule == s.rule) {
            report.skipped.push(s);
        }
    }
    report.flows.push(Checked { kind, id: id.to_owned(), name: name.to_owned(), captures, findings: r.findings.len() });
    report.findings.extend(r.findings);
}

/// `--file`: the files with the contract rules, no AWS.
fn run_files(ctx: &Ctx, args: &Args) -> Result<Outcome> {
    let lambda_arn = args.lambda_arn.as_deref().map(check_lambda_arn).transpose()?;
    let options = Options {
        keys: None,
        lambda_arn: lambda_arn.clone(),
        now_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
        warn_days: args.warn_days,
        contract: true,
        placeholders: if args.rendered { Placeholders::Forbidden } else { Placeholders::Required },
    };
    let mut report = Report {
        instance_id: None,
        lambda_arn_source: if lambda_arn.is_some() { "--lambda-arn".into() } else { "none".into() },
        lambda_arn,
        key_ids: Vec::new(),
        warn_days: args.warn_days,
        flows: Vec::new(),
        findings: Vec::new(),
        skipped: Vec::new(),
    };
    for path in &args.files {
        let content = std::fs::read_to_string(path).map_err(|e| crate::error::io("reading flow file", path, e))?;
        let module = content.contains("\"EndFlowModuleExecution\"");
        let kind = if module { Kind::Module } else { Kind::Flow };
        let shown = path.display().to_string();
        let f = InstanceFlow { kind, id: shown.clone(), name: shown, content: Some(content), unreadable_because: None };
        let (captures, r) = audit_one(&f, &options);
        add(&mut report, kind, &f.id, &f.name, captures, r);
    }
    emit(ctx.output, &report)?;
    Ok(if report.findings.is_empty() { Outcome::Done } else { Outcome::Findings })
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let Some(instance_arg) = args.instance_id.as_deref() else { return run_files(ctx, &args) };
    let aws = ctx.aws.load().await?;
    let instance = connect::instance_id(instance_arg, &aws.region())?;
    let (lambda_arn, source) = match (&args.lambda_arn, &args.stack) {
        (Some(arn), _) => (Some(check_lambda_arn(arn)?), "--lambda-arn".to_owned()),
        (None, Some(stack)) => {
            let outputs = StackArgs { stack: stack.clone() }.outputs(&aws, "--lambda-arn ARN").await?;
            (Some(check_lambda_arn(&outputs.function_arn)?), format!("stack {}", outputs.stack_name))
        }
        (None, None) => (None, "none".to_owned()),
    };
    let client = aws.connect();
    progress(format!("reading the security keys of instance {instance} ..."));
    let keys = connect_flows_api::security_keys(&client, &instance).await?;
    progress(format!("reading the flows and modules of instance {instance} ..."));
    let flows = connect_flows_api::list_with_content(&client, &instance).await?;
    let options = Options {
        keys: Some(keys.clone()),
        lambda_arn: lambda_arn.clone(),
        now_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
        warn_days: args.warn_days,
        contract: false,
        placeholders: Placeholders::Ignore,
    };
    let mut report = Report {
        instance_id: Some(instance),
        lambda_arn,
        lambda_arn_source: source,
        key_ids: keys.iter().map(|k| k.key_id.clone()).collect(),
        warn_days: args.warn_days,
        flows: Vec::with_capacity(flows.len()),
        findings: Vec::new(),
        skipped: Vec::new(),
    };
    for f in &flows {
        let (captures, r) = audit_one(f, &options);
        add(&mut report, f.kind, &f.id, &f.name, captures, r);
    }
    // Without our ARN the rule is skipped even when no flow reached it: say so once.
    if report.lambda_arn.is_none() && !report.skipped.iter().any(|s| s.rule == Rule::StoredInputToOtherFunction) {
        report.skipped.push(Skipped {
            rule: Rule::StoredInputToOtherFunction,
            reason: "no Lambda ARN given (--lambda-arn or --stack): where the stored input goes is not checked"
                .to_owned(),
        });
    }
    emit(ctx.output, &report)?;
    Ok(if report.findings.is_empty() { Outcome::Done } else { Outcome::Findings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_function_arn_with_or_without_a_qualifier_and_nothing_else() {
        let f = "arn:aws:lambda:eu-west-2:111122223333:function:decrypt";
        assert_eq!(check_lambda_arn(f).ok().as_deref(), Some(f));
        assert!(check_lambda_arn(&format!("{f}:live")).is_ok());
        for bad in [
            "",
            "decrypt",
            "arn:aws:lambda:eu-west-2:111122223333:layer:x",
            "arn:aws:lambda:eu-west-2:1:function:",
            &format!("{f}:a:b"),
        ] {
            assert!(check_lambda_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_flow_connect_would_not_describe_is_a_finding() {
        let f = InstanceFlow {
            kind: Kind::Module,
            id: "m-1".into(),
            name: "Capture".into(),
            content: None,
            unreadable_because: Some("AccessDeniedException".into()),
        };
        let o = Options {
            keys: Some(Vec::new()),
            lambda_arn: None,
            now_unix: 0,
            warn_days: 30,
            contract: false,
            placeholders: Placeholders::Ignore,
        };
        let (_, r) = audit_one(&f, &o);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, Rule::ContentUnavailable);
        assert!(r.findings[0].message.contains("DescribeContactFlowModule: AccessDeniedException"));
        let f = InstanceFlow { content: Some("{not json".into()), unreadable_because: None, ..f };
        assert_eq!(audit_one(&f, &o).1.findings[0].rule, Rule::ContentUnavailable);
    }
}
