//! An order-keeping JSON value, to change one leaf of an entry.

use super::*;

/// A JSON value that keeps object keys in their order (serde_json's
/// `Value` sorts them), so that an unchanged value re-encodes to the very
/// bytes it came from.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    F(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::U(n) => s.serialize_u64(*n),
            Json::I(n) => s.serialize_i64(*n),
            Json::F(x) => s.serialize_f64(*x),
            Json::Str(text) => s.serialize_str(text),
            Json::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
                Ok(Json::U(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
                Ok(Json::I(n))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Json, E> {
                Ok(Json::F(x))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Json, E> {
                Ok(Json::Str(text.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    fields.push((k, v));
                }
                Ok(Json::Obj(fields))
            }
        }
        d.deserialize_any(V)
    }
}

/// Calls `f` on every leaf (not an array or object) of `json` with its
/// path, e.g. `event.statement.signature` or `decisions[0].signers[1]`.
pub(super) fn for_each_leaf(json: &mut Json, path: &str, f: &mut dyn FnMut(&str, &mut Json)) {
    match json {
        Json::Arr(items) => {
            for (k, item) in items.iter_mut().enumerate() {
                for_each_leaf(item, &format!("{path}[{k}]"), f);
            }
        }
        Json::Obj(fields) => {
            for (key, value) in fields.iter_mut() {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                for_each_leaf(value, &p, f);
            }
        }
        leaf => f(path, leaf),
    }
}

/// The next character in its class (hex digits 0-9a-f, then other
/// letters), wrapping around; `None` for anything else.
pub(super) fn next_char(c: char) -> Option<char> {
    Some(match c {
        '0'..='8' | 'a'..='e' | 'g'..='y' | 'A'..='Y' => char::from(c as u8 + 1),
        '9' => 'a',
        'f' => '0',
        'z' => 'g',
        'Z' => 'A',
        _ => return None,
    })
}

/// Changes a leaf minimally: flips a bool, adds one to a number, moves the
/// last letter or digit of a string on by one (so hex stays hex). Returns
/// false for a leaf that cannot be changed so (null).
pub(super) fn change(leaf: &mut Json) -> bool {
    match leaf {
        Json::Null | Json::Arr(_) | Json::Obj(_) => return false,
        Json::Bool(b) => *b = !*b,
        Json::U(n) => *n = n.checked_add(1).unwrap_or(u64::MAX - 1),
        Json::I(n) => *n = n.checked_add(1).unwrap_or(i64::MAX - 1),
        Json::F(x) => *x += 1.0,
        Json::Str(text) => {
            let last = text
                .char_indices()
                .rev()
                .find_map(|(k, c)| next_char(c).map(|n| (k, c, n)));
            match last {
                Some((k, c, n)) => {
                    text.replace_range(k..k + c.len_utf8(), n.encode_utf8(&mut [0; 4]))
                }
                None => text.push('x'),
            }
        }
    }
    true
}

/// Spells a lowercase hex string in upper case: the same bytes to a hex
/// decoder, but not the canonical spelling. Returns false for a leaf that
/// is not such a string.
pub(super) fn respell(leaf: &mut Json) -> bool {
    match leaf {
        Json::Str(text)
            if text.len() % 2 == 0
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && text.bytes().any(|b| b.is_ascii_lowercase()) =>
        {
            *text = text.to_ascii_uppercase();
            true
        }
        _ => false,
    }
}

pub(super) fn parse_entry(text: &str) -> Json {
    let body = text
        .as_bytes()
        .strip_prefix(ENTRY_PREFIX)
        .expect("an entry starts with its prefix");
    serde_json::from_slice(body).expect("an entry is JSON")
}

pub(super) fn encode_json(json: &Json) -> String {
    let mut bytes = ENTRY_PREFIX.to_vec();
    bytes.extend(serde_json::to_vec(json).expect("JSON"));
    String::from_utf8(bytes).expect("UTF-8")
}

/// A way to change a leaf; false if it does not apply to that leaf.
pub(super) type Change = fn(&mut Json) -> bool;

/// One changed leaf of one entry.
pub(super) struct Mutation {
    /// Position of the entry in the transcript.
    pub(super) entry: usize,
    pub(super) path: String,
    /// The changed entry: canonical if it still decodes as an entry, else
    /// the compact JSON of the changed value.
    pub(super) text: String,
}

/// Every single-leaf change of every entry of `transcript` (each leaf
/// changed minimally, and each hex string also spelled in upper case), and
/// how many changes were skipped because they mean the same entry.
pub(super) fn mutations(transcript: &Transcript) -> (Vec<Mutation>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, e) in transcript.entries.iter().enumerate() {
        let original = Entry::decode(e.entry.as_bytes()).expect("a canonical entry");
        let json = parse_entry(&e.entry);
        assert_eq!(
            encode_json(&json),
            e.entry,
            "the order-keeping JSON re-encodes entry {i} to its bytes"
        );
        let mut paths = Vec::new();
        for_each_leaf(&mut json.clone(), "", &mut |p, _| paths.push(p.to_string()));
        let hows: [(&str, Change); 2] = [("", change), (" (upper-case hex)", respell)];
        for (n, path) in paths.iter().enumerate() {
            for (suffix, how) in hows {
                let mut changed = json.clone();
                let mut k = 0;
                let mut did = false;
                for_each_leaf(&mut changed, "", &mut |_, leaf| {
                    if k == n {
                        did = how(leaf);
                    }
                    k += 1;
                });
                if !did {
                    continue;
                }
                let compact = encode_json(&changed);
                let body = &compact.as_bytes()[ENTRY_PREFIX.len()..];
                let text = match serde_json::from_slice::<Entry>(body) {
                    // The change means the same entry (another spelling of
                    // the same value): not a tamper.
                    Ok(entry) if entry == original || entry.encode() == e.entry.as_bytes() => {
                        skipped += 1;
                        continue;
                    }
                    Ok(entry) => String::from_utf8(entry.encode()).expect("UTF-8"),
                    Err(_) => compact,
                };
                assert_ne!(text, e.entry);
                out.push(Mutation {
                    entry: i,
                    path: format!("{path}{suffix}"),
                    text,
                });
            }
        }
    }
    (out, skipped)
}
