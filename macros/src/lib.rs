//! `#[lambkin::handler]`: use it through the `lambkin` crate, which documents it.
//!
//! The pipeline reads top to bottom: `parse` builds a typed view of the attribute and the
//! function and checks every rule (each error points at the offending tokens and says how to
//! fix it); `expand` generates `main`. All runtime logic lives in `lambkin`; the generated
//! code names only `::lambkin::__private`.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod expand;
mod parse;

/// Turns a typed handler into the binary's `main`. See the `lambkin` crate docs.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match parse::Handler::parse(args.into(), item.clone()) {
        Ok(handler) => expand::expand(&handler),
        Err(error) => expand::fallback(item, error),
    }
    .into()
}
