//! The principals of an MIT keytab file (format version 0x0502, as Samba and MIT write it):
//! enough to tell whether the keys clusapid needs (`MSServerClusterMgmtAPI/...`) are there.
//! Pure and bounded: a malformed file is an error, never a panic.

/// Why a keytab could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeytabError {
    #[error("not a keytab (version bytes {0:#06x}, expected 0x0502)")]
    BadVersion(u16),
    #[error("truncated or malformed entry at byte {0}")]
    Malformed(usize),
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeytabError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(KeytabError::Malformed(self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, KeytabError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn counted(&mut self) -> Result<String, KeytabError> {
        let n = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

/// The principals (`component/component@REALM`) of every key in the file, in file order,
/// duplicates (one per encryption type) included.
pub fn principals(data: &[u8]) -> Result<Vec<String>, KeytabError> {
    let mut r = Reader { b: data, at: 0 };
    let v = r.u16().map_err(|_| KeytabError::BadVersion(0))?;
    if v != 0x0502 {
        return Err(KeytabError::BadVersion(v));
    }
    let mut out = Vec::new();
    while r.at < data.len() {
        let start = r.at;
        let s = r.take(4)?;
        let size = i32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        if size == 0 {
            break;
        }
        let len = usize::try_from(size.unsigned_abs()).map_err(|_| KeytabError::Malformed(start))?;
        let entry = r.take(len)?;
        if size < 0 {
            continue; // a hole left by a deleted entry
        }
        let mut e = Reader { b: entry, at: 0 };
        let at = |e: &Reader<'_>| start + 4 + e.at;
        let n = e.u16().map_err(|_| KeytabError::Malformed(at(&e)))?;
        let realm = e.counted().map_err(|_| KeytabError::Malformed(at(&e)))?;
        let mut comps = Vec::with_capacity(usize::from(n.min(16)));
        for _ in 0..n {
            comps.push(e.counted().map_err(|_| KeytabError::Malformed(at(&e)))?);
        }
        out.push(format!("{}@{realm}", comps.join("/")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(comps: &[&str], realm: &str) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&(comps.len() as u16).to_be_bytes());
        for s in std::iter::once(&realm).chain(comps) {
            e.extend_from_slice(&(s.len() as u16).to_be_bytes());
            e.extend_from_slice(s.as_bytes());
        }
        e.extend_from_slice(&1u32.to_be_bytes()); // name type
        e.extend_from_slice(&0u32.to_be_bytes()); // timestamp
        e.push(2); // kvno
        e.extend_from_slice(&18u16.to_be_bytes()); // enctype
        e.extend_from_slice(&32u16.to_be_bytes());
        e.extend_from_slice(&[7u8; 32]);
        let mut out = (e.len() as i32).to_be_bytes().to_vec();
        out.extend(e);
        out
    }

    #[test]
    fn principals_holes_and_errors() {
        let mut kt = vec![0x05, 0x02];
        kt.extend(entry(&["MSServerClusterMgmtAPI", "labcluster.lab.example"], "LAB.EXAMPLE"));
        kt.extend((-12i32).to_be_bytes());
        kt.extend([0u8; 12]);
        kt.extend(entry(&["LABCLUSTER$"], "LAB.EXAMPLE"));
        assert_eq!(
            principals(&kt).unwrap(),
            vec!["MSServerClusterMgmtAPI/labcluster.lab.example@LAB.EXAMPLE", "LABCLUSTER$@LAB.EXAMPLE"]
        );
        assert_eq!(principals(&[0x05, 0x01]), Err(KeytabError::BadVersion(0x0501)));
        assert_eq!(principals(&[]), Err(KeytabError::BadVersion(0)));
        // every truncation is an error or a shorter list, never a panic
        for n in 0..kt.len() {
            let _ = principals(&kt[..n]);
        }
        let mut bad = vec![0x05, 0x02];
        bad.extend(i32::MAX.to_be_bytes());
        assert!(principals(&bad).is_err());
    }
}
