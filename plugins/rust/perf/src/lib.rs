//! The performance loop: sum 1..=n. `black_box` keeps the compiler from replacing the loop
//! with the closed form, so this measures the interpreter, as the demo intends.

use plugboard_plugin::prelude::*;
use std::hint::black_box;

#[export]
pub fn sum(n: u64) -> u64 {
    let mut s: u64 = 0;
    let mut i: u64 = 1;
    while i <= n {
        s = s.wrapping_add(black_box(i));
        i += 1;
    }
    s
}

#[export]
pub fn count_primes(n: u32) -> u32 {
    let mut count = 0;
    for k in 2..=n {
        let mut d = 2;
        let mut prime = true;
        while d * d <= k {
            if k % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        count += u32::from(prime);
    }
    count
}

/// The small call of the call-overhead benchmark.
#[export]
pub fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// The string round trip of the call-overhead benchmark.
#[export]
pub fn echo(s: String) -> String {
    s
}
