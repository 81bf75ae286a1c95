//! Reading inputs and writing outputs, with secrets kept off disk unless asked for.

use std::io::{Read as _, Write as _};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{self, CliError, Result};

/// Reads a file, or stdin for `-`.
pub(crate) fn read_input(path: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input(format!("could not read stdin: {e}"), "pipe the input in, or give a file"))?;
    } else {
        let p = Path::new(path);
        let mut f = std::fs::File::open(p).map_err(|e| error::io("could not open", p, e))?;
        f.read_to_end(&mut buf).map_err(|e| error::io("could not read", p, e))?;
    }
    Ok(buf)
}

/// Reads a PEM text file.
pub(crate) fn read_pem(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| error::io("could not read", path, e))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        CliError::input(format!("{} is not a PEM text file", path.display()), "give a PEM file (BEGIN ... lines)")
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Creates a new file readable only by the owner (0600); refuses to overwrite.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| error::io("could not create", path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| error::io("could not write", path, e))
}

/// Creates a new public file; refuses to overwrite.
pub(crate) fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| error::io("could not create", path, e))?;
    f.write_all(bytes).map_err(|e| error::io("could not write", path, e))
}

/// Refuses early when an output file already exists, before any key is made or stored.
pub(crate) fn ensure_absent(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(error::io("refusing to overwrite", path, std::io::Error::from(std::io::ErrorKind::AlreadyExists)));
    }
    Ok(())
}
