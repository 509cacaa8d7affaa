use plugboard_plugin::prelude::*;

#[export]
pub fn f() -> impl Clone {
    1u8
}

fn main() {}
