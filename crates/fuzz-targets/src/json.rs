//! `json_text`: raw bytes as JSON text through [`Value::from_json`] (the nvim ABI's and the
//! CLI's parser: depth 64, exact integers, last duplicate key wins). Oracle: no panic; a
//! parsed value prints as JSON that parses back to the same printout (a fixpoint); text nested
//! past the limit is a `DepthLimit` error.

use plugboard_host_core::{DecodeError, ErrorKind, Value};

/// The deepest `[`/`{` nesting of the text outside strings.
fn depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in text.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, ..) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

pub fn json_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Value::from_json(&text) {
        Ok(value) => {
            assert!(
                depth(&text) <= Value::MAX_JSON_DEPTH as usize,
                "text nested past the limit was accepted"
            );
            let printed = value.to_json();
            let again = Value::from_json(&printed)
                .unwrap_or_else(|e| panic!("printed JSON does not parse: {e}\n{printed}"));
            assert_eq!(again.to_json(), printed, "JSON printout is not a fixpoint");
        }
        Err(e) => {
            let ErrorKind::Decode(d) = e.kind() else {
                panic!("from_json gave {e:?}")
            };
            if depth(&text) > Value::MAX_JSON_DEPTH as usize {
                assert!(
                    matches!(
                        d,
                        DecodeError::DepthLimit { .. } | DecodeError::Mismatch { .. }
                    ),
                    "{d:?}"
                );
            }
        }
    }
}
