//! `tenant-key-pattern`: which leading segments of a key name its tenant.
//!
//! A pattern is segments separated by the separator: a literal, `*` (any one segment) or
//! `{tenant}` (captures one segment). It matches the key's leading segments, and the key must
//! have at least one more segment after the captured one.

/// One compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    segments: Vec<Segment>,
    capture: usize,
    source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(Vec<u8>),
    Any,
    Capture,
}

impl KeyPattern {
    /// Compiles `source` split on `separator`; `placeholder` is `{tenant}` (or `{class}`).
    pub fn compile(source: &str, separator: u8, placeholder: &str) -> Result<KeyPattern, String> {
        if source.is_empty() {
            return Err("empty pattern".into());
        }
        let mut segments = Vec::new();
        let mut capture = None;
        for (i, seg) in source.as_bytes().split(|&b| b == separator).enumerate() {
            let seg = if seg == placeholder.as_bytes() {
                if capture.is_some() {
                    return Err(format!("pattern '{source}' has more than one {placeholder}"));
                }
                capture = Some(i);
                Segment::Capture
            } else if seg == b"*" {
                Segment::Any
            } else {
                Segment::Literal(seg.to_vec())
            };
            segments.push(seg);
        }
        let capture = capture.ok_or_else(|| format!("pattern '{source}' has no {placeholder}"))?;
        segments.truncate(capture + 1);
        Ok(KeyPattern { segments, capture, source: source.to_string() })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The captured segment of `key`, if the pattern matches.
    #[inline]
    pub fn capture<'k>(&self, key: &'k [u8], separator: u8) -> Option<&'k [u8]> {
        // `{tenant}` alone, the most common pattern: the key's first segment.
        if self.capture == 0 {
            let end = key.iter().position(|&b| b == separator)?;
            return Some(&key[..end]);
        }
        let mut rest = key;
        for (i, seg) in self.segments.iter().enumerate() {
            // Every matched segment, the captured one included, must be followed by a separator.
            let end = rest.iter().position(|&b| b == separator)?;
            let part = &rest[..end];
            match seg {
                Segment::Literal(lit) if lit.as_slice() != part => return None,
                _ => {}
            }
            if i == self.capture {
                return Some(part);
            }
            rest = &rest[end + 1..];
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant<'a>(pattern: &str, key: &'a str) -> Option<&'a str> {
        let p = KeyPattern::compile(pattern, b':', "{tenant}").unwrap();
        p.capture(key.as_bytes(), b':').map(|t| std::str::from_utf8(t).unwrap())
    }

    #[test]
    fn design_table() {
        assert_eq!(tenant("{tenant}", "org_abc123:conversations:list:v1"), Some("org_abc123"));
        assert_eq!(tenant("{tenant}", "plain-key"), None);
        assert_eq!(tenant("cache:*:{tenant}", "cache:client:t-42:c-7"), Some("t-42"));
        assert_eq!(tenant("cache:*:{tenant}", "cache:domain_tenant:example.com"), None);
        assert_eq!(tenant("organization:{tenant}", "organization:t-9:org-1"), Some("t-9"));
    }

    #[test]
    fn bad_patterns() {
        assert!(KeyPattern::compile("cache:*", b':', "{tenant}").is_err());
        assert!(KeyPattern::compile("{tenant}:{tenant}", b':', "{tenant}").is_err());
        assert!(KeyPattern::compile("", b':', "{tenant}").is_err());
    }
}
