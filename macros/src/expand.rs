//! Code generation: the handler stays as written, and `main` is generated beside it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{ItemFn, spanned::Spanned};

use crate::parse::{Flavor, Form, Handler, Options};

/// The handler unchanged, plus a `main` that runs it through `lambkin`'s runtime.
pub fn expand(handler: &Handler) -> TokenStream {
    let Handler {
        options,
        function,
        form,
        state,
        event,
        output,
        ..
    } = handler;
    let init = match &options.init {
        Some(path) => quote!(#path),
        None => quote!(::lambkin::__private::no_init),
    };
    let state_ty = state.clone().map_or_else(|| quote!(()), |ty| quote!(#ty));
    let call = call(handler);
    let options = runtime_options(options);
    let run = match form {
        Form::Typed | Form::Stream => {
            // Each check is spanned at the user's tokens, so a type error lands on the event
            // type or the return type instead of on the attribute.
            let deserialize = quote_spanned! {event.span()=>
                ::lambkin::__private::event::<#event>(&__lambkin_event)?
            };
            let respond = if *form == Form::Stream {
                quote_spanned! {output.span()=> ::lambkin::__private::respond_stream(__lambkin_result) }
            } else {
                quote_spanned! {output.span()=> ::lambkin::__private::respond(__lambkin_result) }
            };
            quote! {
                ::lambkin::__private::run(#options, #init, |__lambkin_state: &'static #state_ty, __lambkin_event: ::lambkin::__private::RawEvent, __lambkin_context: ::lambkin::__private::Context| async move {
                    let _ = (&__lambkin_state, &__lambkin_context);
                    let __lambkin_event = #deserialize;
                    let __lambkin_result = #call;
                    #respond
                })
            }
        }
        Form::Http | Form::HttpStream => {
            let (run, respond) = if *form == Form::HttpStream {
                (quote!(run_http_stream), quote!(respond_http_stream))
            } else {
                (quote!(run_http), quote!(respond_http))
            };
            let respond =
                quote_spanned! {output.span()=> ::lambkin::__private::#respond(__lambkin_result) };
            quote! {
                ::lambkin::__private::#run(#options, #init, |__lambkin_state: &'static #state_ty, __lambkin_event: ::lambkin::__private::HttpRequest| {
                    let __lambkin_context = ::lambkin::__private::http_context(&__lambkin_event);
                    let _ = (&__lambkin_state, &__lambkin_context);
                    async move {
                        let __lambkin_result = #call;
                        #respond
                    }
                })
            }
        }
    };
    quote! {
        #function

        fn main() -> ::std::process::ExitCode {
            #run
        }
    }
}

/// The handler's call inside the generated closure: state, event and context as it takes them.
fn call(handler: &Handler) -> TokenStream {
    let name = &handler.function.sig.ident;
    let state_arg = handler.state.as_ref().map(|_| quote!(__lambkin_state,));
    let context_arg = handler.context.then(|| quote!(, __lambkin_context));
    let call = quote!(#name(#state_arg __lambkin_event #context_arg));
    if handler.function.sig.asyncness.is_some() {
        quote!(#call.await)
    } else {
        call
    }
}

/// The `Options` the generated `main` passes to the runtime.
fn runtime_options(options: &Options) -> TokenStream {
    let flavor = match options.flavor {
        Flavor::CurrentThread => quote!(CurrentThread),
        Flavor::MultiThread => quote!(MultiThread),
    };
    let logging = options.logging;
    quote! {
        ::lambkin::__private::Options {
            flavor: ::lambkin::__private::Flavor::#flavor,
            logging: #logging,
            function: match ::core::option_env!("CARGO_BIN_NAME") {
                ::core::option::Option::Some(name) => name,
                ::core::option::Option::None => ::core::env!("CARGO_PKG_NAME"),
            },
        }
    }
}

/// On error: the `compile_error!`, the user's fn (minus what rustc would report again) and an
/// empty `main`, so the user sees one error and not a cascade ("no `main` function", "unused").
pub fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        return quote! { #error #item fn main() {} };
    };
    // rustc rejects `self` outside an impl on its own; ours already says what to do.
    function.sig.inputs = function
        .sig
        .inputs
        .into_iter()
        .filter(|arg| matches!(arg, syn::FnArg::Typed(_)))
        .collect();
    // A handler named `main` is the error itself: the empty `main` stands in for it.
    let function = (function.sig.ident != "main")
        .then(|| quote!(#[allow(dead_code, unused_variables)] #function));
    quote! {
        #error
        #function
        fn main() {}
    }
}
