//! `nvim_ids`: a sequence of operations on the nvim ABI's id table (reserve, set, insert, get,
//! take) with live, stale and forged ids, against a map from live ids to their values
//! (RELIABILITY.md JSN-01..03, after wasmtime's `table_ops`).
//!
//! The model: a new id is non-zero and names no live value; an operation on an id that is not
//! live is `BadHandle`; reading a reserved id never set is `WrongType`; at most `MAX_LIVE` ids
//! are live (`Handles`) and the values hold at most `MAX_BYTES` (`ValueBytes`, and nothing
//! changes); `take` consumes.

use arbitrary::{Arbitrary, Unstructured};
use plugboard_host_core::internals::IdTable;
use plugboard_host_core::{AbiViolation, Error, ErrorKind, ResourceLimit};
use std::collections::BTreeMap;

const MAX_LIVE: usize = 16;
const MAX_BYTES: usize = 256;

#[derive(Debug, Arbitrary)]
enum Op {
    Reserve,
    Set(Id, Vec<u8>),
    Insert(Vec<u8>),
    Get(Id),
    Take(Id),
}

#[derive(Debug, Arbitrary)]
enum Id {
    Live(u8),
    Stale(u8),
    Forged(u32),
    Flipped(u8, u8),
}

struct Model {
    live: BTreeMap<u32, Option<Vec<u8>>>,
    stale: Vec<u32>,
}

impl Model {
    fn id(&self, id: &Id) -> u32 {
        let nth = |i: u8| {
            self.live
                .keys()
                .nth(usize::from(i) % self.live.len().max(1))
                .copied()
        };
        match *id {
            Id::Live(i) => nth(i).unwrap_or(1),
            Id::Stale(i) => self
                .stale
                .get(usize::from(i) % self.stale.len().max(1))
                .copied()
                .unwrap_or(0),
            Id::Forged(x) => x,
            Id::Flipped(i, bit) => nth(i).unwrap_or(1) ^ (1 << (bit % 32)),
        }
    }

    fn bytes(&self) -> usize {
        self.live.values().flatten().map(Vec::len).sum()
    }

    /// What reading `id` must give.
    fn read(&self, id: u32) -> Result<Vec<u8>, &'static str> {
        match self.live.get(&id) {
            None => Err("BadHandle"),
            Some(None) => Err("WrongType"),
            Some(Some(b)) => Ok(b.clone()),
        }
    }
}

fn kind(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::AbiViolation(AbiViolation::BadHandle { .. }) => "BadHandle",
        ErrorKind::AbiViolation(AbiViolation::WrongType { .. }) => "WrongType",
        ErrorKind::ResourceLimit(ResourceLimit::Handles { .. }) => "Handles",
        ErrorKind::ResourceLimit(ResourceLimit::ValueBytes { .. }) => "ValueBytes",
        _ => panic!("unexpected error from the id table: {e:?}"),
    }
}

fn fresh(m: &Model, id: u32) {
    assert_ne!(id, 0, "id 0 is nil");
    assert!(!m.live.contains_key(&id), "id {id:#x} handed out twice");
}

pub fn nvim_ids(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut t = IdTable::new(MAX_LIVE, MAX_BYTES);
    let mut m = Model {
        live: BTreeMap::new(),
        stale: Vec::new(),
    };
    while let (false, Ok(op)) = (u.is_empty(), Op::arbitrary(&mut u)) {
        match op {
            Op::Reserve => match t.reserve() {
                Ok(id) => {
                    assert!(m.live.len() < MAX_LIVE, "more than {MAX_LIVE} live ids");
                    fresh(&m, id);
                    m.live.insert(id, None);
                }
                Err(e) => assert_eq!((kind(&e), m.live.len()), ("Handles", MAX_LIVE)),
            },
            Op::Insert(bytes) => {
                let room = m.bytes() + bytes.len() <= MAX_BYTES;
                match t.insert(bytes.clone()) {
                    Ok(id) => {
                        assert!(m.live.len() < MAX_LIVE && room, "insert over a limit");
                        fresh(&m, id);
                        m.live.insert(id, Some(bytes));
                    }
                    Err(e) if m.live.len() >= MAX_LIVE => assert_eq!(kind(&e), "Handles"),
                    Err(e) => assert_eq!((kind(&e), room), ("ValueBytes", false)),
                }
            }
            Op::Set(which, bytes) => {
                let id = m.id(&which);
                let expected = match m.live.get(&id) {
                    None => Err("BadHandle"),
                    Some(old) => {
                        let after = m.bytes() - old.as_ref().map_or(0, Vec::len) + bytes.len();
                        if after > MAX_BYTES {
                            Err("ValueBytes")
                        } else {
                            Ok(())
                        }
                    }
                };
                match t.set(id, bytes.clone()) {
                    Ok(()) => {
                        assert_eq!(expected, Ok(()), "set({id:#x})");
                        m.live.insert(id, Some(bytes));
                    }
                    Err(e) => assert_eq!(Err(kind(&e)), expected, "set({id:#x})"),
                }
            }
            Op::Get(which) => {
                let id = m.id(&which);
                assert_eq!(t.get(id).map_err(|e| kind(&e)), m.read(id), "get({id:#x})");
            }
            Op::Take(which) => {
                let id = m.id(&which);
                let expected = m.read(id);
                assert_eq!(t.take(id).map_err(|e| kind(&e)), expected, "take({id:#x})");
                if expected.is_ok() {
                    m.live.remove(&id);
                    m.stale.push(id);
                }
            }
        }
    }
}
