//! The message body: frames, or one non-framed block.
//!
//! Spec, data-format/message-body.md. A regular frame is sequence number (4), IV (12), exactly
//! frame-length bytes of ciphertext and a tag (16). The final frame starts with the end marker
//! 0xFFFFFFFF, then its sequence number, IV, a 4-byte content length no greater than the frame
//! length, the ciphertext and the tag. A non-framed body is IV, 8-byte length, ciphertext, tag.

use crate::Error;
use crate::cursor::Cursor;
use crate::suite::{IV_LEN, TAG_LEN};

/// Marks the final frame.
pub(crate) const END_MARKER: u32 = 0xFFFF_FFFF;
/// Spec: non-framed content is at most 2^36 - 32 bytes.
pub(crate) const MAX_NON_FRAMED_LEN: u64 = (1 << 36) - 32;

/// The body AAD content strings (spec, "Body AAD Content").
pub(crate) const FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Frame";
pub(crate) const FINAL_FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Final Frame";
pub(crate) const SINGLE_BLOCK_AAD: &[u8] = b"AWSKMSEncryptionClient Single Block";

/// One frame (or the single non-framed block, with sequence number 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub(crate) sequence: u32,
    pub(crate) is_final: bool,
    pub(crate) iv: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: &'a [u8],
}

impl Frame<'_> {
    /// The AAD a frame's tag covers: message ID, content string, sequence number, length.
    pub(crate) fn aad(&self, message_id: &[u8], non_framed: bool) -> Vec<u8> {
        let label = match (non_framed, self.is_final) {
            (true, _) => SINGLE_BLOCK_AAD,
            (false, true) => FINAL_FRAME_AAD,
            (false, false) => FRAME_AAD,
        };
        body_aad(message_id, label, self.sequence, self.ciphertext.len())
    }
}

pub(crate) fn body_aad(message_id: &[u8], label: &[u8], sequence: u32, len: usize) -> Vec<u8> {
    let mut aad = Vec::with_capacity(message_id.len() + label.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(label);
    aad.extend_from_slice(&sequence.to_be_bytes());
    aad.extend_from_slice(&(len as u64).to_be_bytes());
    aad
}

/// Sequence numbers start at 1 and rise by exactly one; 0xFFFFFFFF is the end marker, so the
/// last usable number is 0xFFFFFFFE... except that the final frame may carry it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SequenceCounter {
    next: u32,
}

impl SequenceCounter {
    pub(crate) fn new() -> Self {
        Self { next: 1 }
    }

    /// Accepts `found` if it is the next number, and moves on.
    pub(crate) fn accept(&mut self, found: u32) -> Result<(), Error> {
        if found != self.next {
            return Err(Error::SequenceNumber { expected: self.next, found });
        }
        self.next = self.next.checked_add(1).ok_or(Error::TooManyFrames)?;
        Ok(())
    }
}

/// Lazily parses the frames of a framed body. Yields each frame once; after the final frame it
/// stops. Checks sequence numbers and the final frame's length as it goes.
pub(crate) struct Frames<'a> {
    cursor: Cursor<'a>,
    frame_length: u32,
    counter: SequenceCounter,
    done: bool,
}

impl<'a> Frames<'a> {
    pub(crate) fn new(body: &'a [u8], frame_length: u32) -> Self {
        Self { cursor: Cursor::new(body), frame_length, counter: SequenceCounter::new(), done: false }
    }

    /// What follows the final frame (valid once iteration has ended).
    pub(crate) fn rest(&self) -> Cursor<'a> {
        self.cursor
    }

    fn parse_one(&mut self) -> Result<Frame<'a>, Error> {
        let c = &mut self.cursor;
        if c.is_empty() {
            return Err(Error::MissingFinalFrame);
        }
        let first = c.u32("frame sequence number")?;
        if first == END_MARKER {
            let sequence = c.u32("final frame sequence number")?;
            self.counter.accept(sequence)?;
            let iv = c.take(IV_LEN, "final frame IV")?;
            let len = c.u32("final frame content length")?;
            if len > self.frame_length {
                return Err(Error::FinalFrameTooLong { frame_length: self.frame_length, found: len });
            }
            let ciphertext = c.take(len as usize, "final frame content")?;
            let tag = c.take(TAG_LEN, "final frame tag")?;
            if c.peek_u32() == Some(END_MARKER) {
                return Err(Error::RepeatedFinalFrame);
            }
            return Ok(Frame { sequence, is_final: true, iv, ciphertext, tag });
        }
        self.counter.accept(first)?;
        let iv = c.take(IV_LEN, "frame IV")?;
        let ciphertext = c.take(self.frame_length as usize, "frame content")?;
        let tag = c.take(TAG_LEN, "frame tag")?;
        Ok(Frame { sequence: first, is_final: false, iv, ciphertext, tag })
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.parse_one();
        match &item {
            Ok(frame) if !frame.is_final => {}
            _ => self.done = true,
        }
        Some(item)
    }
}

/// Parses a non-framed body from the cursor.
pub(crate) fn parse_non_framed<'a>(c: &mut Cursor<'a>) -> Result<Frame<'a>, Error> {
    let iv = c.take(IV_LEN, "non-framed IV")?;
    let len = c.u64("non-framed content length")?;
    if len > MAX_NON_FRAMED_LEN {
        return Err(Error::ContentTooLong(len));
    }
    let len = usize::try_from(len).map_err(|_| Error::ContentTooLong(len))?;
    let ciphertext = c.take(len, "non-framed content")?;
    let tag = c.take(TAG_LEN, "non-framed tag")?;
    Ok(Frame { sequence: 1, is_final: true, iv, ciphertext, tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u32, len: usize) -> Vec<u8> {
        let mut v = seq.to_be_bytes().to_vec();
        v.extend([0u8; IV_LEN]);
        v.extend(vec![0xAB; len]);
        v.extend([0u8; TAG_LEN]);
        v
    }

    fn final_frame(seq: u32, len: u32) -> Vec<u8> {
        let mut v = END_MARKER.to_be_bytes().to_vec();
        v.extend(seq.to_be_bytes());
        v.extend([0u8; IV_LEN]);
        v.extend(len.to_be_bytes());
        v.extend(vec![0xCD; len as usize]);
        v.extend([0u8; TAG_LEN]);
        v
    }

    fn collect(body: &[u8], frame_length: u32) -> Result<usize, Error> {
        Frames::new(body, frame_length).try_fold(0, |n, f| f.map(|_| n + 1))
    }

    #[test]
    fn accepts_regular_frames_then_one_final_frame() {
        let body = [frame(1, 4), frame(2, 4), final_frame(3, 2)].concat();
        assert_eq!(collect(&body, 4), Ok(3));
    }

    #[test]
    fn rejects_final_frame_longer_than_frame_length() {
        let body = final_frame(1, 5);
        assert_eq!(collect(&body, 4), Err(Error::FinalFrameTooLong { frame_length: 4, found: 5 }));
    }

    #[test]
    fn rejects_sequence_gaps_and_a_first_frame_other_than_one() {
        let body = [frame(1, 4), frame(3, 4)].concat();
        assert_eq!(collect(&body, 4), Err(Error::SequenceNumber { expected: 2, found: 3 }));
        assert_eq!(collect(&frame(0, 4), 4), Err(Error::SequenceNumber { expected: 1, found: 0 }));
    }

    #[test]
    fn rejects_missing_and_repeated_final_frames() {
        assert_eq!(collect(&frame(1, 4), 4), Err(Error::MissingFinalFrame));
        let body = [final_frame(1, 1), final_frame(2, 1)].concat();
        assert_eq!(collect(&body, 4), Err(Error::RepeatedFinalFrame));
    }

    #[test]
    fn rejects_oversized_non_framed_length_before_reading_it() {
        let mut body = vec![0u8; IV_LEN];
        body.extend((MAX_NON_FRAMED_LEN + 1).to_be_bytes());
        let err = parse_non_framed(&mut Cursor::new(&body)).map(|_| ());
        assert_eq!(err, Err(Error::ContentTooLong(MAX_NON_FRAMED_LEN + 1)));
    }
}
