#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod detect;
pub mod image_check;
pub mod moderation;
pub mod name_hash;
pub mod policy;
mod scan;
pub mod text;
pub mod verdict;
mod zip;

// The Lambda shell (issue 15): event, configuration, handler, logs, metrics; the AWS clients
// with the `runtime` feature.
#[cfg(feature = "runtime")]
pub mod aws;
pub mod config;
pub mod deadline;
pub mod event;
pub mod guardduty;
pub mod handler;
pub mod log;
pub mod metrics;

pub use detect::{FileKind, ImageFormat, detect};
pub use image_check::{ImageError, ImageInfo, check_image, to_png};
pub use moderation::{LabelMatch, ModerationLabel, ModerationPolicy, judge_labels};
pub use name_hash::name_sha256;
pub use policy::{Extension, ImageLimits, Policy, PolicyError, UnmoderatedImages};
pub use scan::{FileFacts, scan};
pub use verdict::{ModerationRequest, Reason, Status, Verdict};
