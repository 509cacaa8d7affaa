//! `#[export]` and `#[import]` for plugboard's buffer ABI. Use them through `plugboard-plugin`.
//!
//! Misuse is a compile error pointing at the offending tokens, never a panic.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, ToTokens};
use syn::{FnArg, ForeignItemFn, ItemFn, Pat, ReturnType, Signature, Type};

/// The custom section the host reads signatures from (`plugboard_host_core::SIGNATURE_SECTION`).
const SIGNATURE_SECTION: &str = "plugboard.signatures";

/// Exports a function to the host: `#[export] pub fn double(x: Vec<f64>) -> Vec<f64>`.
///
/// Arguments and result travel as bincode; several arguments arrive as a tuple. The function's
/// signature is embedded in the module so hosts can call it with dynamic values.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = TokenStream2::from(attr);
    let item = syn::parse_macro_input!(item as ItemFn);
    expand_export(attr, item)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Imports a host function: `#[import] fn mystery_number(x: u32) -> u32;`
///
/// Declares a safe Rust function that encodes its arguments, calls `env.__<name>` and decodes
/// the result.
#[proc_macro_attribute]
pub fn import(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = TokenStream2::from(attr);
    if let Ok(with_body) = syn::parse::<ItemFn>(item.clone()) {
        return syn::Error::new_spanned(
            &with_body.block,
            "an #[import] function has no body: the host provides it (end the declaration with `;`)",
        )
        .to_compile_error()
        .into();
    }
    let item = syn::parse_macro_input!(item as ForeignItemFn);
    expand_import(attr, item)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

struct Params {
    names: Vec<syn::Ident>,
    types: Vec<Type>,
}

fn check_signature(sig: &Signature, what: &str) -> syn::Result<Params> {
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            a,
            format!("#[{what}] functions cannot be async"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("#[{what}] functions cannot be generic"),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            v,
            format!("#[{what}] functions cannot be variadic"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if matches!(**ty, Type::ImplTrait(_)) {
            return Err(syn::Error::new_spanned(
                ty,
                "the return type must be a concrete serde type, not `impl Trait`",
            ));
        }
    }
    let mut names = Vec::new();
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                return Err(syn::Error::new_spanned(
                    r,
                    format!("#[{what}] functions cannot take `self`"),
                ))
            }
            FnArg::Typed(pt) => {
                let Pat::Ident(id) = &*pt.pat else {
                    return Err(syn::Error::new_spanned(
                        &pt.pat,
                        "use a plain parameter name here, not a pattern",
                    ));
                };
                if matches!(*pt.ty, Type::ImplTrait(_)) {
                    return Err(syn::Error::new_spanned(
                        &pt.ty,
                        "parameters must be concrete serde types, not `impl Trait`",
                    ));
                }
                names.push(id.ident.clone());
                types.push((*pt.ty).clone());
            }
        }
    }
    Ok(Params { names, types })
}

fn no_attr_args(attr: TokenStream2, what: &str) -> syn::Result<()> {
    if attr.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            attr,
            format!("#[{what}] takes no arguments"),
        ))
    }
}

/// `export name(a: A, b: B) -> R\n` as a `#[used]` static in the signature section.
fn signature_static(direction: &str, sig: &Signature, params: &Params) -> TokenStream2 {
    let name = sig.ident.to_string();
    let args: Vec<String> = params
        .names
        .iter()
        .zip(&params.types)
        .map(|(n, t)| format!("{}: {}", n, t.to_token_stream()))
        .collect();
    let ret = match &sig.output {
        ReturnType::Default => String::new(),
        ReturnType::Type(_, t) => format!(" -> {}", t.to_token_stream()),
    };
    let text = format!("{direction} {name}({}){ret}\n", args.join(", "));
    let bytes = syn::LitByteStr::new(text.as_bytes(), Span::call_site());
    let len = text.len();
    let ident = format_ident!(
        "__PLUGBOARD_SIGNATURE_{}_{}",
        direction.to_uppercase(),
        name
    );
    quote! {
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = #SIGNATURE_SECTION)]
        #[allow(non_upper_case_globals)]
        static #ident: [u8; #len] = *#bytes;
    }
}

fn args_type(params: &Params) -> TokenStream2 {
    let types = &params.types;
    match types.len() {
        1 => quote!(#(#types)*),
        _ => quote!((#(#types,)*)),
    }
}

fn expand_export(attr: TokenStream2, item: ItemFn) -> syn::Result<TokenStream2> {
    no_attr_args(attr, "export")?;
    let params = check_signature(&item.sig, "export")?;
    let name = &item.sig.ident;
    let wrapper = format_ident!("__{}", name);
    let names = &params.names;
    let args_ty = args_type(&params);
    let pattern = match names.len() {
        1 => quote!(#(#names)*),
        _ => quote!((#(#names,)*)),
    };
    let section = signature_static("export", &item.sig, &params);
    Ok(quote! {
        #item

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn #wrapper(packed: u64) -> u64 {
            ::plugboard_plugin::__private::export(packed, |#pattern: #args_ty| #name(#(#names),*))
        }

        #section
    })
}

fn expand_import(attr: TokenStream2, item: ForeignItemFn) -> syn::Result<TokenStream2> {
    no_attr_args(attr, "import")?;
    let params = check_signature(&item.sig, "import")?;
    let sig = &item.sig;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let symbol = format!("__{}", sig.ident);
    let names = &params.names;
    let args = match names.len() {
        1 => quote!(&#(#names)*),
        _ => quote!(&(#(#names,)*)),
    };
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, t) => quote!(#t),
    };
    let section = signature_static("import", sig, &params);
    let name_str = sig.ident.to_string();
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #[cfg(target_arch = "wasm32")]
            #[link(wasm_import_module = "env")]
            unsafe extern "C" {
                #[link_name = #symbol]
                fn __plugboard_host(packed: u64) -> u64;
            }
            #[cfg(target_arch = "wasm32")]
            let host = |packed: u64| -> u64 {
                // SAFETY: the host function takes and returns a packed buffer, no pointers of ours.
                unsafe { __plugboard_host(packed) }
            };
            #[cfg(not(target_arch = "wasm32"))]
            let host = |_: u64| -> u64 { ::plugboard_plugin::__private::no_host(#name_str) };
            ::plugboard_plugin::__private::import::<_, #ret>(#name_str, host, #args)
        }

        #section
    })
}
