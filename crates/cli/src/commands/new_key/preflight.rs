//! What can refuse a new key, checked before it is generated: output paths, tag count, names.

use crate::aws::Aws;
use crate::error::{CliError, Result};
use crate::{files, store};

use super::{Destination, KeyOptions};

/// Checks output paths and the tag count before anything is generated or stored.
pub(crate) fn preflight_outputs(opts: &KeyOptions) -> Result<()> {
    if opts.tags.len() + store::OWN_TAGS > store::MAX_TAGS {
        return Err(CliError::input(
            format!(
                "{} --tag options plus the tool's {} tags exceed SSM's {} tags per parameter",
                opts.tags.len(),
                store::OWN_TAGS,
                store::MAX_TAGS
            ),
            format!("give at most {} --tag options", store::MAX_TAGS - store::OWN_TAGS),
        ));
    }
    if let Some(p) = &opts.private_key_out {
        files::ensure_absent(p)?;
    }
    if let Some(d) = &opts.out_dir {
        std::fs::create_dir_all(d).map_err(|e| crate::error::io("could not create", d, e))?;
    }
    Ok(())
}

/// Checks, before anything is generated, that SSM will take the name the key is stored under:
/// the pending name (its fingerprint is 64 hex digits) or the name for a Connect key ID (a UUID).
pub(crate) fn preflight_names(aws: &Aws, dest: &Destination<'_>) -> Result<()> {
    const LONGEST_FINGERPRINT: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const CONNECT_KEY_ID: &str = "00000000-0000-4000-8000-000000000000";
    let name = match dest {
        Destination::Nowhere => return Ok(()),
        Destination::Pending => store::name_for_pending(&aws.prefix, LONGEST_FINGERPRINT)?,
        Destination::Connect(_) => store::name_for_key(&aws.prefix, CONNECT_KEY_ID)?,
    };
    store::check_name(&name, &aws.region())
}
