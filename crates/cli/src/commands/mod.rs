//! One module per command, and `new_key`: the key-creation steps `keygen` and `rotate` share.

pub(crate) mod activate;
pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod decrypt;
pub(crate) mod encrypt;
pub(crate) mod flow;
pub(crate) mod flow_audit;
pub(crate) mod inspect;
pub(crate) mod keygen;
pub(crate) mod list;
pub(crate) mod new_key;
pub(crate) mod retire;
pub(crate) mod rotate;
pub(crate) mod scan;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 9: the command ran but found problems.
    Findings,
}
