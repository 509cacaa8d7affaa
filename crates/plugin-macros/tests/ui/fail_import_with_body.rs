use plugboard_plugin::prelude::*;

#[import]
fn host(x: u32) -> u32 {
    x
}

fn main() {}
