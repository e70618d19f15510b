//! Just enough CBOR (RFC 8949) for the simulator to serve CloudWatch's rpc-v2-cbor protocol:
//! requests decode into `serde_json::Value` (tag 1, epoch time, becomes its number), answers
//! are built as [`Cbor`] values and encoded.

use serde_json::Value;

/// An answer to encode.
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    Map(Vec<(String, Cbor)>),
    Array(Vec<Cbor>),
    Text(String),
    Int(i64),
    Float(f64),
    /// Tag 1: seconds since the epoch.
    Time(i64),
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

impl Cbor {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    Cbor::Text(k.clone()).encode(out);
                    v.encode(out);
                }
            }
            Cbor::Array(items) => {
                head(out, 4, items.len() as u64);
                for i in items {
                    i.encode(out);
                }
            }
            Cbor::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend(s.as_bytes());
            }
            Cbor::Int(i) if *i >= 0 => head(out, 0, *i as u64),
            Cbor::Int(i) => head(out, 1, (-1 - *i) as u64),
            Cbor::Float(f) => {
                out.push(0xfb);
                out.extend(f.to_be_bytes());
            }
            Cbor::Time(secs) => {
                head(out, 6, 1);
                Cbor::Int(*secs).encode(out);
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// Decodes one CBOR item; `None` on malformed input.
pub fn decode(bytes: &[u8]) -> Option<Value> {
    let mut pos = 0;
    let v = item(bytes, &mut pos)?;
    Some(v)
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let s = b.get(*pos..*pos + n)?;
    *pos += n;
    Some(s)
}

/// The argument of an item's head; `None` for an indefinite length.
fn argument(b: &[u8], pos: &mut usize, info: u8) -> Option<Option<u64>> {
    Some(Some(match info {
        0..=23 => u64::from(info),
        24 => u64::from(take(b, pos, 1)?[0]),
        25 => u64::from(u16::from_be_bytes(take(b, pos, 2)?.try_into().ok()?)),
        26 => u64::from(u32::from_be_bytes(take(b, pos, 4)?.try_into().ok()?)),
        27 => u64::from_be_bytes(take(b, pos, 8)?.try_into().ok()?),
        31 => return Some(None),
        _ => return None,
    }))
}

fn is_break(b: &[u8], pos: &mut usize) -> bool {
    if b.get(*pos) == Some(&0xff) {
        *pos += 1;
        true
    } else {
        false
    }
}

fn item(b: &[u8], pos: &mut usize) -> Option<Value> {
    let first = *b.get(*pos)?;
    *pos += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    if major == 7 {
        return simple(b, pos, info);
    }
    let n = argument(b, pos, info)?;
    Some(match (major, n) {
        (0, Some(n)) => Value::from(n),
        (1, Some(n)) => Value::from(-1 - n as i64),
        (2, Some(n)) => {
            take(b, pos, n as usize)?;
            Value::Null
        }
        (3, Some(n)) => Value::String(String::from_utf8(take(b, pos, n as usize)?.to_vec()).ok()?),
        (3, None) => {
            let mut s = String::new();
            while !is_break(b, pos) {
                s.push_str(item(b, pos)?.as_str()?);
            }
            Value::String(s)
        }
        (4, n) => {
            let mut items = Vec::new();
            while n.is_none_or(|n| (items.len() as u64) < n) && !(n.is_none() && is_break(b, pos)) {
                items.push(item(b, pos)?);
            }
            Value::Array(items)
        }
        (5, n) => {
            let mut map = serde_json::Map::new();
            while n.is_none_or(|n| (map.len() as u64) < n) && !(n.is_none() && is_break(b, pos)) {
                let k = item(b, pos)?;
                let v = item(b, pos)?;
                map.insert(k.as_str()?.to_string(), v);
            }
            Value::Object(map)
        }
        // Tags (1: epoch time) stand for their content.
        (6, Some(_)) => item(b, pos)?,
        _ => return None,
    })
}

fn simple(b: &[u8], pos: &mut usize, info: u8) -> Option<Value> {
    Some(match info {
        20 => Value::Bool(false),
        21 => Value::Bool(true),
        22 | 23 => Value::Null,
        25 => {
            let h = u16::from_be_bytes(take(b, pos, 2)?.try_into().ok()?);
            Value::from(f16_to_f64(h))
        }
        26 => Value::from(f64::from(f32::from_be_bytes(
            take(b, pos, 4)?.try_into().ok()?,
        ))),
        27 => Value::from(f64::from_be_bytes(take(b, pos, 8)?.try_into().ok()?)),
        _ => return None,
    })
}

fn f16_to_f64(h: u16) -> f64 {
    let exp = (h >> 10) & 0x1f;
    let mant = f64::from(h & 0x3ff);
    let v = match exp {
        0 => mant * 2f64.powi(-24),
        31 => f64::INFINITY,
        e => (1.0 + mant / 1024.0) * 2f64.powi(i32::from(e) - 15),
    };
    if h & 0x8000 != 0 {
        -v
    } else {
        v
    }
}
