use plugboard_plugin::prelude::*;

pub struct NotSerde;

#[export]
pub fn f(x: NotSerde) -> u32 {
    let _ = x;
    1
}

fn main() {}
