use plugboard_plugin::prelude::*;

#[export(name = "other")]
pub fn f() {}

fn main() {}
