use plugboard_plugin::prelude::*;

#[export]
pub fn id<T>(x: T) -> T {
    x
}

fn main() {}
