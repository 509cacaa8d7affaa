use plugboard_plugin::prelude::*;

#[export]
pub async fn later() -> u32 {
    1
}

fn main() {}
