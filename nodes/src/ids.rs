//! Deterministic object identifiers and name comparison.
//!
//! Every GUID the model hands out is a pure function of the cluster instance id,
//! an object kind and a natural key, so every node's daemon and every restart
//! produce the same ids. The hash is 128-bit FNV-1a (stable, specified, no keys);
//! the result is stamped with the RFC 4122 variant and version 5 ("name-based")
//! bits and formatted as a lowercase `8-4-4-4-12` GUID without braces.

/// FNV-1a, 128-bit variant.
fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // Separator so that ("ab", "c") and ("a", "bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(PRIME);
        }
        for &b in *part {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// Formats 128 bits as a name-based GUID string (`xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx`).
fn format_guid(mut v: u128) -> String {
    // Version 5 in bits 76..80, RFC 4122 variant (10xx) in bits 62..64.
    v &= !(0xf_u128 << 76);
    v |= 0x5_u128 << 76;
    v &= !(0x3_u128 << 62);
    v |= 0x2_u128 << 62;
    let hex = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The cluster's `ClusterInstanceID`, derived from its name (case-insensitively).
pub fn cluster_instance_id(cluster_name: &str) -> String {
    format_guid(fnv1a_128(&[b"clusapid-cluster", fold_case(cluster_name).as_bytes()]))
}

/// GUID for an object of `kind` with natural key `key` in the cluster `instance_id`.
pub fn object_guid(instance_id: &str, kind: &str, key: &str) -> String {
    format_guid(fnv1a_128(&[instance_id.as_bytes(), kind.as_bytes(), key.as_bytes()]))
}

/// The GUID-form `NodeInstanceID` Windows reports for node `id`
/// (e.g. node id 2 → `00000000-0000-0000-0000-000000000002`).
pub fn node_instance_id(node_id: u32) -> String {
    format!("00000000-0000-0000-0000-{node_id:012x}")
}

/// Case folding used for every name comparison (Windows cluster names are
/// case-insensitive).
pub fn fold_case(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Case-insensitive name equality.
pub fn names_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
        || a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_shape() {
        let g = object_guid("x", "group", "cluster");
        assert_eq!(g.len(), 36);
        let parts: Vec<&str> = g.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('5'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(g, g.to_lowercase());
    }

    #[test]
    fn guid_is_stable_and_key_sensitive() {
        assert_eq!(object_guid("i", "k", "a"), object_guid("i", "k", "a"));
        assert_ne!(object_guid("i", "k", "a"), object_guid("i", "k", "b"));
        assert_ne!(object_guid("i", "ka", "b"), object_guid("i", "k", "ab"));
        assert_eq!(cluster_instance_id("Samba"), cluster_instance_id("SAMBA"));
        // Pinned: changing the derivation would change every id clients have seen.
        assert_eq!(cluster_instance_id("cluster"), "063d181c-6ad2-5286-8923-4bd1a888fb24");
        assert_eq!(object_guid("i", "k", "a"), "d8c77f01-ba83-594f-b081-2e95bac0c2ce");
    }

    #[test]
    fn node_instance_ids() {
        assert_eq!(node_instance_id(2), "00000000-0000-0000-0000-000000000002");
    }

    #[test]
    fn names() {
        assert!(names_equal("Cluster Group", "cluster group"));
        assert!(names_equal("ÄBC", "äbc"));
        assert!(!names_equal("a", "b"));
    }
}
