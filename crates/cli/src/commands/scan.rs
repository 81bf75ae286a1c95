//! `secure-ivr scan`: the attachment scanner's checks on a local file, with the scanner's own
//! policy code (`attachment_scanner::scan`), so the answer is the Lambda's.

use std::io::Read as _;
use std::path::Path;

use attachment_scanner::aws::RekognitionModerator;
use attachment_scanner::handler::Moderator as _;
use attachment_scanner::{
    Extension, FileFacts, ModerationPolicy, Policy, UnmoderatedImages, Verdict, scan as scan_bytes,
};
use serde::Serialize;

use crate::Ctx;
use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::emit;

/// Check a file as the attachment scanner Lambda does: type from its bytes (not its name), the
/// name's extension against the allowed set, executables, archives, polyglots, text and image
/// checks with the same limits. Prints the verdict and its reasons; exit 9 when it is rejected.
///
/// The file name is judged by its extension only and printed only as its SHA-256, as the Lambda
/// logs it. Without --rekognition an image the Lambda would moderate is reported as not moderated;
/// with it, Rekognition's labels are judged by the scanner's own rule.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to check, or - for stdin (then give --name).
    #[arg(value_name = "FILE|-")]
    pub(crate) input: String,
    /// The name to judge by (Connect's FileName); default: FILE's own name.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Allowed extensions, comma-separated; default: Connect's attachment types.
    #[arg(long, value_name = "LIST")]
    pub(crate) allowed_types: Option<String>,
    /// Largest file accepted, in bytes [default: 20971520, Connect's limit].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_size: Option<u64>,
    /// Let archives (.zip) through, if also in --allowed-types.
    #[arg(long)]
    pub(crate) allow_archives: bool,
    /// HEIC, GIF and WebP, which Rekognition does not take: reject, allow (unmoderated), or
    /// convert (GIF and WebP to PNG for moderation) [default: reject].
    #[arg(long, value_name = "POLICY")]
    pub(crate) unmoderated_images: Option<String>,
    /// Lowest label confidence that counts, percent [default: 50].
    #[arg(long, value_name = "PERCENT")]
    pub(crate) min_confidence: Option<String>,
    /// Moderation categories that reject, comma-separated [default: Explicit, Violence, Drugs &
    /// Tobacco, Hate Symbols].
    #[arg(long, value_name = "LIST")]
    pub(crate) reject_categories: Option<String>,
    /// Send an image the Lambda would moderate to Rekognition DetectModerationLabels (the same
    /// bytes the Lambda sends) and apply the categories; needs AWS credentials and a region.
    #[arg(long)]
    pub(crate) rekognition: bool,
}

/// Whether the image went to Rekognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Moderation {
    /// Not an image the Lambda moderates, or already rejected.
    NotNeeded,
    /// The Lambda would ask Rekognition; this run did not (no --rekognition).
    NotAsked,
    /// Rekognition was asked (--rekognition).
    Asked,
}

/// The verdict and what this run did not do.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    #[serde(flatten)]
    verdict: Verdict,
    moderation: Moderation,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.verdict)?;
        match self.moderation {
            Moderation::NotNeeded | Moderation::Asked => Ok(()),
            Moderation::NotAsked => writeln!(
                f,
                "moderation: not asked; the Lambda would send this image to Rekognition (DetectModerationLabels)"
            ),
        }
    }
}

/// The scanner's default policy with the flags applied, each parsed by the scanner's own rule.
fn policy(args: &Args) -> Result<Policy> {
    let bad = |flag: &str, e: &dyn std::fmt::Display| {
        CliError::input(format!("{flag}: {e}"), "see `secure-ivr scan --help` for the accepted values")
    };
    let mut p = Policy::default();
    if let Some(list) = &args.allowed_types {
        p.allowed = Policy::parse_allowed(list).map_err(|e| bad("--allowed-types", &e))?;
    }
    if let Some(max) = args.max_size {
        if max == 0 {
            return Err(bad("--max-size", &"must be at least 1 byte"));
        }
        p.max_size = max;
    }
    p.allow_archives = args.allow_archives;
    if let Some(v) = &args.unmoderated_images {
        p.unmoderated_images = UnmoderatedImages::parse(v).map_err(|e| bad("--unmoderated-images", &e))?;
    }
    if let Some(v) = &args.min_confidence {
        p.moderation.min_confidence =
            ModerationPolicy::parse_min_confidence(v).map_err(|e| bad("--min-confidence", &e))?;
    }
    if let Some(v) = &args.reject_categories {
        p.moderation.reject_categories =
            ModerationPolicy::parse_categories(v).map_err(|e| bad("--reject-categories", &e))?;
    }
    Ok(p)
}

/// Reads at most `max + 1` bytes: enough to know a file is too large without holding all of it.
fn read_bounded(input: &str, max: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = max.saturating_add(1);
    if input == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input(format!("could not read stdin: {e}"), "pipe the file in, or give its path"))?;
    } else {
        let p = Path::new(input);
        let f = std::fs::File::open(p).map_err(|e| error::io("could not open", p, e))?;
        f.take(limit).read_to_end(&mut buf).map_err(|e| error::io("could not read", p, e))?;
    }
    Ok(buf)
}

pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let policy = policy(&args)?;
    let name = match (&args.name, args.input.as_str()) {
        (Some(n), _) => n.clone(),
        (None, "-") => {
            return Err(CliError::input(
                "reading stdin, the file has no name",
                "give the name to judge by: --name NAME",
            ));
        }
        (None, path) => Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if Extension::of_name(&name).is_none() && ctx.verbose > 0 {
        crate::output::progress("the name has no extension the scanner knows: it will be rejected as type-not-allowed");
    }
    let bytes = read_bounded(&args.input, policy.max_size)?;
    let mut verdict = scan_bytes(&bytes, &FileFacts { name: &name, declared_size: None }, &policy);
    let moderation = match verdict.moderation_request(&policy) {
        None => Moderation::NotNeeded,
        Some(_) if !args.rekognition => Moderation::NotAsked,
        Some(request) => match request.image_bytes(&bytes, &policy.image_limits) {
            // What the Lambda would answer too: the image cannot be sent.
            Err(reason) => {
                verdict.reject(reason);
                Moderation::NotNeeded
            }
            Ok(image) => {
                let moderator = RekognitionModerator::new(ctx.aws.load().await?.rekognition());
                let answer = moderator
                    .detect_moderation_labels(image.into_owned(), policy.moderation.min_confidence)
                    .await
                    .map_err(|e| {
                        CliError::new(
                            Exit::Aws,
                            format!("moderation failed: {e}"),
                            "check --region, credentials (rekognition:DetectModerationLabels) and --endpoint-url",
                        )
                    })?;
                verdict.apply_moderation(&answer.labels, answer.model_version.as_deref(), &policy.moderation);
                Moderation::Asked
            }
        },
    };
    let approved = verdict.is_approved();
    emit(ctx.output, &Report { verdict, moderation })?;
    Ok(if approved { Outcome::Done } else { Outcome::Findings })
}
