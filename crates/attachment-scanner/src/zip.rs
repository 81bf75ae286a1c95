//! Just enough of ZIP (APPNOTE.TXT) to tell an Office Open XML document from an archive, and to
//! find a ZIP hidden at the end of another file.
//!
//! APPNOTE 4.3.16: the end of central directory record is `PK\x05\x06`, 22 bytes plus a comment
//! of up to 65,535 bytes, and is the last thing in the file; readers find the archive from it, so a
//! file that ends in one *is* a ZIP to them whatever it starts with. 4.3.12: each central
//! directory header is `PK\x01\x02`, 46 bytes, then the name, extra field and comment.

/// The end of central directory record's signature.
const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
/// A central directory file header's signature.
const CENTRAL_SIGNATURE: [u8; 4] = *b"PK\x01\x02";
/// A local file header's signature.
pub(crate) const LOCAL_SIGNATURE: [u8; 4] = *b"PK\x03\x04";
/// Fixed part of the end of central directory record.
const EOCD_LEN: usize = 22;
/// Fixed part of a central directory file header.
const CENTRAL_LEN: usize = 46;
/// More entries than any document needs: refuse to walk further.
const MAX_ENTRIES: usize = 65_535;

/// A bounds-checked reader over a borrowed slice.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }
}

/// The end of central directory record, as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Eocd {
    entries: u16,
    cd_size: u32,
    cd_offset: u32,
    /// Where the record starts.
    at: usize,
}

/// The end of central directory record that ends `bytes` exactly (its comment length reaching the
/// last byte), searching back over the largest comment the format allows.
fn find_eocd(bytes: &[u8]) -> Option<Eocd> {
    let earliest = bytes.len().saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    let last = bytes.len().checked_sub(EOCD_LEN)?;
    (earliest..=last).rev().find_map(|at| {
        let mut c = Cursor { rest: bytes.get(at..)? };
        if c.take(4)? != EOCD_SIGNATURE {
            return None;
        }
        let _disk = c.u16()?;
        let _cd_disk = c.u16()?;
        let _entries_here = c.u16()?;
        let entries = c.u16()?;
        let cd_size = c.u32()?;
        let cd_offset = c.u32()?;
        let comment_len = usize::from(c.u16()?);
        (c.rest.len() == comment_len).then_some(Eocd { entries, cd_size, cd_offset, at })
    })
}

/// Whether the file ends with a ZIP end of central directory record: what a ZIP reader looks for.
pub(crate) fn ends_with_zip(bytes: &[u8]) -> bool {
    find_eocd(bytes).is_some()
}

/// What a ZIP container holds, by its central directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// `[Content_Types].xml` and `word/document.xml`.
    Docx,
    /// `[Content_Types].xml` and `xl/workbook.xml`.
    Xlsx,
    /// `[Content_Types].xml` and `ppt/presentation.xml`.
    Pptx,
    /// Any other well-formed ZIP (including OOXML with VBA macros: see [`Classified::macros`]).
    Zip,
}

/// The result of reading a ZIP's central directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    /// What the entries say the container is.
    pub(crate) container: Container,
    /// An entry named `vbaProject.bin` (VBA macros: a `.docm`/`.xlsm`/`.pptm` whatever its name).
    pub(crate) macros: bool,
}

/// Classifies a file that starts with a local file header by its central directory. `None` when
/// it is not a well-formed single-disk ZIP (no end record at the very end, a central directory
/// outside the file or overlapping the end record, a bad entry header, ZIP64).
pub(crate) fn classify(bytes: &[u8]) -> Option<Classified> {
    if bytes.get(..4)? != LOCAL_SIGNATURE {
        return None;
    }
    let eocd = find_eocd(bytes)?;
    let offset = usize::try_from(eocd.cd_offset).ok()?;
    let size = usize::try_from(eocd.cd_size).ok()?;
    // ZIP64 marks these fields 0xFFFF / 0xFFFFFFFF; an Office document never needs it.
    if eocd.entries == u16::MAX || eocd.cd_offset == u32::MAX || offset.checked_add(size)? > eocd.at {
        return None;
    }
    let mut c = Cursor { rest: bytes.get(offset..offset.checked_add(size)?)? };
    let (mut content_types, mut docx, mut xlsx, mut pptx, mut macros) = (false, false, false, false, false);
    for _ in 0..usize::from(eocd.entries).min(MAX_ENTRIES) {
        let header = c.take(CENTRAL_LEN)?;
        if header.get(..4)? != CENTRAL_SIGNATURE {
            return None;
        }
        let mut h = Cursor { rest: header.get(28..)? };
        let name_len = usize::from(h.u16()?);
        let extra_len = usize::from(h.u16()?);
        let comment_len = usize::from(h.u16()?);
        let name = c.take(name_len)?;
        c.take(extra_len)?;
        c.take(comment_len)?;
        match name {
            b"[Content_Types].xml" => content_types = true,
            b"word/document.xml" => docx = true,
            b"xl/workbook.xml" => xlsx = true,
            b"ppt/presentation.xml" => pptx = true,
            _ => {}
        }
        if name.rsplit(|&b| b == b'/').next().is_some_and(|base| base.eq_ignore_ascii_case(b"vbaProject.bin")) {
            macros = true;
        }
    }
    let container = match (content_types, docx, xlsx, pptx) {
        (true, true, false, false) => Container::Docx,
        (true, false, true, false) => Container::Xlsx,
        (true, false, false, true) => Container::Pptx,
        _ => Container::Zip,
    };
    Some(Classified { container, macros })
}

/// Test fixtures: a stored (uncompressed) ZIP written from scratch, so the tests need no ZIP crate.
#[cfg(test)]
pub(crate) mod fixture {
    /// A ZIP with the given entries, stored without compression (CRCs are left zero: nothing here
    /// reads them).
    pub(crate) fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = u32::try_from(out.len()).expect("small");
            let name_len = u16::try_from(name.len()).expect("small");
            let size = u32::try_from(data.len()).expect("small");
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            central.extend_from_slice(&0u32.to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&name_len.to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = u32::try_from(out.len()).expect("small");
        let cd_size = u32::try_from(central.len()).expect("small");
        let count = u16::try_from(entries.len()).expect("small");
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// The parts Word writes first, enough to be a `.docx` by the central directory.
    pub(crate) fn docx() -> Vec<u8> {
        zip(&[
            ("[Content_Types].xml", br#"<?xml version="1.0"?><Types/>"#),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document/>"),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{docx, zip};
    use super::*;

    #[test]
    fn classifies_ooxml_by_its_central_directory() {
        assert_eq!(classify(&docx()), Some(Classified { container: Container::Docx, macros: false }));
        let xlsx = zip(&[("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")]);
        assert_eq!(classify(&xlsx).map(|c| c.container), Some(Container::Xlsx));
        let pptx = zip(&[("[Content_Types].xml", b"<Types/>"), ("ppt/presentation.xml", b"<p/>")]);
        assert_eq!(classify(&pptx).map(|c| c.container), Some(Container::Pptx));
    }

    #[test]
    fn a_zip_without_the_ooxml_parts_is_an_archive() {
        assert_eq!(classify(&zip(&[("a.txt", b"hello")])).map(|c| c.container), Some(Container::Zip));
        // The main part without [Content_Types].xml is not a package.
        assert_eq!(classify(&zip(&[("word/document.xml", b"<w/>")])).map(|c| c.container), Some(Container::Zip));
        // Two main parts: not one document type.
        let both =
            zip(&[("[Content_Types].xml", b"<T/>"), ("word/document.xml", b"<w/>"), ("xl/workbook.xml", b"<x/>")]);
        assert_eq!(classify(&both).map(|c| c.container), Some(Container::Zip));
    }

    #[test]
    fn flags_vba_macros() {
        let docm = zip(&[
            ("[Content_Types].xml", b"<T/>"),
            ("word/document.xml", b"<w/>"),
            ("word/vbaProject.bin", b"\xd0\xcf"),
        ]);
        assert_eq!(classify(&docm), Some(Classified { container: Container::Docx, macros: true }));
    }

    #[test]
    fn refuses_malformed_central_directories() {
        let good = docx();
        // Truncated: the end record is gone.
        assert_eq!(classify(good.get(..good.len() - 1).expect("len")), None);
        // Trailing bytes after the end record (no comment declared).
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(classify(&trailing), None);
        // Central directory offset beyond the end record.
        let mut bad_offset = good.clone();
        let at = bad_offset.len() - 6;
        bad_offset.splice(at..at + 4, u32::MAX.to_le_bytes());
        assert_eq!(classify(&bad_offset), None);
        // An entry count larger than the directory holds.
        let mut bad_count = good.clone();
        let at = bad_count.len() - 12;
        bad_count.splice(at..at + 2, 9u16.to_le_bytes());
        assert_eq!(classify(&bad_count), None);
        // Not starting with a local header.
        let mut prefixed = b"\x89PNG".to_vec();
        prefixed.extend_from_slice(&good);
        assert_eq!(classify(&prefixed), None);
    }

    #[test]
    fn finds_a_zip_appended_to_another_file_but_not_a_stray_signature() {
        let mut png_then_zip = b"\x89PNG\r\n\x1a\n-pretend-image-".to_vec();
        png_then_zip.extend_from_slice(&zip(&[("payload.exe", b"MZ")]));
        assert!(ends_with_zip(&png_then_zip));
        // The signature in the middle, not ending the file with its comment length.
        let mut stray = b"data PK\x05\x06".to_vec();
        stray.extend_from_slice(&[0; 40]);
        assert!(!ends_with_zip(&stray));
        assert!(!ends_with_zip(b""));
    }
}
