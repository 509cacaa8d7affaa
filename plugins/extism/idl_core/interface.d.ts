// The interface of the idl_core fixture, a JS-PDK-style core module written in Rust.
declare module 'main' {
  export function greet(): I32;
  export function mix(): I32;
  export function fail(): I32;
  export function types(): I32;
}

declare module 'extism:host' {
  interface user {
    add(a: I32, b: I32): I32;
    scale(x: F64, factor: F32): F64;
    shout(text: PTR): PTR;
    tick(): void;
  }
}
