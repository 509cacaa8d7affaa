use plugboard_plugin::prelude::*;

struct S;

impl S {
    #[export]
    pub fn f(&self) {}
}

fn main() {}
