//! `kernel_ops`: a sequence of Extism kernel operations with adversarial arguments (interior,
//! freed, foreign and wrapping handles and offsets) against a reference model that knows only
//! which blocks are live and what was written where (RELIABILITY.md KRN-09).
//!
//! The model: `alloc(n)` gives 0 for 0 bytes or when the cap is reached, else a block inside
//! kernel memory that overlaps no live block, reads as zeros and has `length` n; `length` of
//! anything but a live block's start is 0; a load or store succeeds exactly when its whole
//! range lies inside one live block, and a load returns what was last stored there.

use arbitrary::{Arbitrary, Unstructured};
use plugboard_host_core::internals::KernelMemory;
use std::collections::BTreeMap;

const CAP: usize = 1 << 16;

#[derive(Debug, Arbitrary)]
enum Op {
    Alloc(Size),
    Free(u8, Offset),
    Store(u8, Offset, Width, u64),
    Load(u8, Offset, Width),
    Length(u8, Offset),
    Reset,
}

#[derive(Debug, Arbitrary)]
enum Size {
    Small(u8),
    Page(u16),
    Huge(u64),
}

/// An offset from a live block's start (by index), or an absolute one.
#[derive(Debug, Arbitrary)]
enum Offset {
    Start,
    Near(i8),
    Far(u64),
    Absolute(u64),
}

#[derive(Debug, Arbitrary)]
enum Width {
    Byte,
    Word,
}

impl Width {
    fn bytes(&self) -> u64 {
        match self {
            Width::Byte => 1,
            Width::Word => 8,
        }
    }
}

struct Model {
    live: BTreeMap<u64, Vec<u8>>,
}

impl Model {
    fn handle(&self, i: u8, off: &Offset) -> u64 {
        let base = self
            .live
            .keys()
            .nth(usize::from(i) % self.live.len().max(1))
            .copied()
            .unwrap_or(0);
        match *off {
            Offset::Start => base,
            Offset::Near(d) => base.wrapping_add_signed(i64::from(d)),
            Offset::Far(d) => base.wrapping_add(d),
            Offset::Absolute(a) => a,
        }
    }

    /// The block and offset inside it where `at..at+width` lies, if it lies inside one.
    fn inside(&self, at: u64, width: u64) -> Option<(u64, usize)> {
        let (&start, bytes) = self.live.range(..=at).next_back()?;
        let end = at.checked_add(width)?;
        (end <= start + bytes.len() as u64).then(|| (start, (at - start) as usize))
    }
}

pub fn kernel_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut k = KernelMemory::new(CAP);
    let mut m = Model {
        live: BTreeMap::new(),
    };
    while let (false, Ok(op)) = (u.is_empty(), Op::arbitrary(&mut u)) {
        match op {
            Op::Alloc(size) => {
                let n = match size {
                    Size::Small(n) => u64::from(n),
                    Size::Page(n) => u64::from(n),
                    Size::Huge(n) => n,
                };
                let h = k.alloc(n);
                if h == 0 {
                    assert!(
                        n == 0 || k.alloc_denied(),
                        "alloc({n}) gave 0 without running out"
                    );
                    if m.live.is_empty() {
                        // An empty kernel gives its memory back: only the null byte is used.
                        assert!(
                            n == 0 || n.saturating_add(1) > CAP as u64,
                            "alloc({n}) refused in an empty kernel"
                        );
                    }
                    continue;
                }
                let end = h.checked_add(n).expect("block end overflows");
                assert!(end <= k.memory_len() as u64, "block past kernel memory");
                assert!(end <= CAP as u64, "block past the cap");
                for (&o, b) in &m.live {
                    assert!(
                        end <= o || h >= o + b.len() as u64,
                        "block {h}+{n} overlaps a live block at {o}"
                    );
                }
                assert_eq!(k.length(h), n, "length of a new block");
                m.live.insert(h, vec![0; n as usize]);
            }
            Op::Free(i, off) => {
                let h = m.handle(i, &off);
                k.free(h);
                m.live.remove(&h);
            }
            Op::Store(i, off, w, v) => {
                let at = m.handle(i, &off);
                let width = w.bytes();
                let expected = m.inside(at, width);
                let ok = k.store(at, width, v).is_ok();
                assert_eq!(ok, expected.is_some(), "store of {width} at {at}");
                if let Some((start, s)) = expected {
                    let block = m.live.get_mut(&start).expect("live block");
                    block[s..s + width as usize]
                        .copy_from_slice(&v.to_le_bytes()[..width as usize]);
                }
            }
            Op::Load(i, off, w) => {
                let at = m.handle(i, &off);
                let width = w.bytes();
                let expected = m.inside(at, width).map(|(start, s)| {
                    let mut word = [0u8; 8];
                    word[..width as usize].copy_from_slice(&m.live[&start][s..s + width as usize]);
                    u64::from_le_bytes(word)
                });
                assert_eq!(k.load(at, width).ok(), expected, "load of {width} at {at}");
            }
            Op::Length(i, off) => {
                let h = m.handle(i, &off);
                assert_eq!(
                    k.length(h),
                    m.live.get(&h).map_or(0, |b| b.len() as u64),
                    "length({h})"
                );
            }
            Op::Reset => {
                k.reset();
                m.live.clear();
            }
        }
    }
}
