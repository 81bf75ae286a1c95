//! Just enough DER to read an X.509 certificate's validity window (RFC 5280 4.1).
//!
//! Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER,
//! signature AlgorithmIdentifier, issuer Name, validity SEQUENCE { notBefore Time, notAfter Time }, ... } }
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Reads one TLV; returns (tag, content).
    fn tlv(&mut self) -> Result<(u8, &'a [u8]), &'static str> {
        let (&tag, rest) = self.0.split_first().ok_or("truncated tag")?;
        let (&first, mut rest) = rest.split_first().ok_or("truncated length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err("unsupported length form");
            }
            let (bytes, r) = rest.split_at_checked(n).ok_or("truncated length")?;
            rest = r;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let (content, rest) = rest.split_at_checked(len).ok_or("length runs past the end")?;
        self.0 = rest;
        Ok((tag, content))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], &'static str> {
        match self.tlv()? {
            (t, c) if t == tag => Ok(c),
            _ => Err(what),
        }
    }
}

/// The (notBefore, notAfter) of a DER certificate.
pub fn validity(der: &[u8]) -> Result<(OffsetDateTime, OffsetDateTime), &'static str> {
    let cert = Der(der).expect(0x30, "not a certificate")?;
    let mut tbs = Der(Der(cert).expect(0x30, "no tbsCertificate")?);
    let (mut tag, _) = tbs.tlv()?;
    if tag == 0xa0 {
        tag = tbs.tlv()?.0; // serialNumber follows the explicit version
    }
    if tag != 0x02 {
        return Err("no serial number");
    }
    tbs.expect(0x30, "no signature algorithm")?;
    tbs.expect(0x30, "no issuer")?;
    let mut v = Der(tbs.expect(0x30, "no validity")?);
    let nb = parse_time(v.tlv()?)?;
    let na = parse_time(v.tlv()?)?;
    Ok((nb, na))
}

fn parse_time((tag, content): (u8, &[u8])) -> Result<OffsetDateTime, &'static str> {
    let s = std::str::from_utf8(content).map_err(|_| "time is not ASCII")?;
    let digits = s.strip_suffix('Z').ok_or("time is not in UTC")?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("time has non-digits");
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u16>().ok()).ok_or("time too short");
    let (year, rest) = match (tag, digits.len()) {
        // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
        (0x17, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0..4)?, 4),
        _ => return Err("unsupported time encoding"),
    };
    let field = |i: usize| num(rest + i * 2..rest + i * 2 + 2).and_then(|v| u8::try_from(v).map_err(|_| "bad field"));
    let month = Month::try_from(field(0)?).map_err(|_| "bad month")?;
    let date = Date::from_calendar_date(i32::from(year), month, field(1)?).map_err(|_| "bad date")?;
    let t = Time::from_hms(field(2)?, field(3)?, field(4)?).map_err(|_| "bad time")?;
    Ok(PrimitiveDateTime::new(date, t).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_generalized_time() {
        let utc = parse_time((0x17, b"491231235959Z")).ok();
        assert_eq!(utc.map(|t| t.year()), Some(2049));
        let utc = parse_time((0x17, b"500101000000Z")).ok();
        assert_eq!(utc.map(|t| t.year()), Some(1950));
        let gen_time = parse_time((0x18, b"20500101000000Z")).ok();
        assert_eq!(gen_time.map(|t| t.year()), Some(2050));
    }

    #[test]
    fn rejects_truncated_and_local_times() {
        assert!(parse_time((0x17, b"4912312359Z")).is_err());
        assert!(parse_time((0x17, b"491231235959")).is_err());
        assert!(validity(&[0x30, 0x05, 0x30]).is_err());
        assert!(validity(&[]).is_err());
    }
}
