//! The README's example plugin: `plugboard call double.wasm double '[1.5, 2.5]'`.

use plugboard_plugin::prelude::*;

#[export]
pub fn double(x: Vec<f64>) -> Vec<f64> {
    x.into_iter().map(|v| v * 2.0).collect()
}

#[export]
pub fn greet(name: String) -> String {
    format!("Hello, {name}!")
}

#[export]
pub fn stats(values: Vec<f64>) -> Option<(f64, f64, f64)> {
    let first = *values.first()?;
    let (min, max, sum) = values.iter().fold((first, first, 0.0), |(lo, hi, s), v| (lo.min(*v), hi.max(*v), s + v));
    Some((min, max, sum / values.len() as f64))
}
