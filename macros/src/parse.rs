//! The typed view of `#[lambkin::handler(...)] fn ...` and the rules it must follow.

use proc_macro2::TokenStream;
use syn::{
    Error, Expr, FnArg, ItemFn, LitBool, LitStr, PatType, Path, Result, ReturnType, Type,
    parse::Parser, spanned::Spanned,
};

/// The tokio runtime the generated `main` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The attribute's options.
#[derive(Debug)]
pub struct Options {
    /// `init = path`: the fn that builds the state once per cold start.
    pub init: Option<Path>,
    /// `flavor = "current_thread" | "multi_thread"`.
    pub flavor: Flavor,
    /// `logging = false` leaves the tracing subscriber to the user.
    pub logging: bool,
    /// `stream`: an HTTP handler's response body streams.
    pub stream: bool,
}

/// Whether the handler takes a typed event or an HTTP request (over `lambda_http`), and whether
/// it answers whole or streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Typed,
    /// A typed event, answered with a `StreamResponse`.
    Stream,
    Http,
    /// An HTTP request (`#[lambkin::handler(stream)]`), its response's body streamed.
    HttpStream,
}

/// A handler that follows every rule.
#[derive(Debug)]
pub struct Handler {
    pub options: Options,
    pub function: ItemFn,
    pub form: Form,
    /// `T` of the `state: &T` argument, present exactly when `init` is.
    pub state: Option<Type>,
    /// The event (or request) argument's type.
    pub event: Type,
    /// Whether the handler takes a `Context` after the event.
    pub context: bool,
    /// The return type, `Result<_, _>`.
    pub output: Type,
}

const OPTIONS: &str = "expected `init = <fn>`, `flavor = \"current_thread\" | \"multi_thread\"`, `logging = <bool>` or `stream`";
const SHAPES: &str = "`fn name(event: E)` or `fn name(event: E, ctx: lambkin::Context)`";

impl Handler {
    /// Parses and checks the attribute arguments and the annotated item.
    pub fn parse(args: TokenStream, item: TokenStream) -> Result<Self> {
        let options = parse_options(args)?;
        let function: ItemFn = syn::parse2(item).map_err(|e| {
            Error::new(
                e.span(),
                format!("#[lambkin::handler] goes on a fn: {SHAPES}"),
            )
        })?;
        check_signature(&function)?;
        let mut args = typed_inputs(&function)?.into_iter();
        let state = match &options.init {
            Some(init) => Some(state_type(args.next(), init, &function)?),
            None => None,
        };
        let event = event_type(args.next(), &options, &function)?;
        let context = context_arg(args.next())?;
        check_no_more_arguments(args.as_slice(), &options)?;
        let output = output_type(&function)?;
        let form = form(&event, &output, &options)?;
        Ok(Handler {
            options,
            function,
            form,
            state,
            event,
            context,
            output,
        })
    }
}

/// The fn's arguments; a handler is a free fn, so `self` is refused.
fn typed_inputs(function: &ItemFn) -> Result<Vec<&PatType>> {
    function
        .sig
        .inputs
        .iter()
        .map(|input| match input {
            FnArg::Receiver(receiver) => Err(Error::new_spanned(
                receiver,
                "a handler is a free fn and cannot take `self`: move it out of the `impl` block and pass what it needs as state (`#[lambkin::handler(init = setup)]`)",
            )),
            FnArg::Typed(arg) => Ok(arg),
        })
        .collect()
}

/// The event (or request) argument's type: present, and taken by value.
fn event_type(arg: Option<&PatType>, options: &Options, function: &ItemFn) -> Result<Type> {
    let event = arg.ok_or_else(|| {
        Error::new(
            function.sig.paren_token.span.join(),
            format!("a handler takes the event as its first argument: {SHAPES}"),
        )
    })?;
    if let Type::Reference(reference) = &*event.ty {
        let hint = if options.init.is_none() {
            "; if this is state, build it once per cold start with `#[lambkin::handler(init = setup)]`"
        } else {
            ""
        };
        return Err(Error::new_spanned(
            reference,
            format!(
                "the event is deserialized for each invocation and passed by value: remove the `&`{hint}"
            ),
        ));
    }
    Ok((*event.ty).clone())
}

/// Whether the argument after the event, if any, is the invocation context.
fn context_arg(arg: Option<&PatType>) -> Result<bool> {
    match arg {
        None => Ok(false),
        Some(arg) if last_segment_is(&arg.ty, "Context") => Ok(true),
        Some(arg) => Err(Error::new_spanned(
            &arg.ty,
            "the argument after the event must be the invocation context: `ctx: lambkin::Context`",
        )),
    }
}

/// Nothing may follow the context: one error spanning every extra argument.
fn check_no_more_arguments(extra: &[&PatType], options: &Options) -> Result<()> {
    let (Some(first), Some(last)) = (extra.first(), extra.last()) else {
        return Ok(());
    };
    let span = first
        .span()
        .join(last.span())
        .unwrap_or_else(|| first.span());
    let form = if options.init.is_some() {
        "`(state: &State, event: E, ctx: lambkin::Context)`"
    } else {
        SHAPES
    };
    Err(Error::new(
        span,
        format!("too many arguments: a handler takes {form}"),
    ))
}

/// The return type, which must be a `Result`.
fn output_type(function: &ItemFn) -> Result<Type> {
    match &function.sig.output {
        ReturnType::Type(_, ty) if last_segment_is(ty, "Result") => Ok((**ty).clone()),
        ReturnType::Type(_, ty) => Err(Error::new_spanned(
            ty,
            "a handler returns `Result<T, E>`: wrap the value in `Ok(...)` and return `Result<T, lambkin::Error>`",
        )),
        ReturnType::Default => Err(Error::new(
            function.sig.paren_token.span.close(),
            "a handler returns `Result<T, E>`: add `-> Result<T, lambkin::Error>`",
        )),
    }
}

/// The form: HTTP if the event is a `Request`; streaming if the typed handler returns a
/// `StreamResponse` or the HTTP one has the `stream` option.
fn form(event: &Type, output: &Type, options: &Options) -> Result<Form> {
    if last_segment_is(event, "Request") {
        return Ok(if options.stream {
            Form::HttpStream
        } else {
            Form::Http
        });
    }
    let streams = ok_type(output).is_some_and(|ok| last_segment_is(ok, "StreamResponse"));
    match (streams, options.stream) {
        (true, _) => Ok(Form::Stream),
        (false, true) => Err(Error::new_spanned(
            output,
            "a streaming handler returns `Result<lambkin::stream::StreamResponse<S>, E>` (or takes a `lambkin::http::Request` to stream an HTTP response's body)",
        )),
        (false, false) => Ok(Form::Typed),
    }
}

/// `T` of `Result<T, E>`.
fn ok_type(output: &Type) -> Option<&Type> {
    let Type::Path(path) = output else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

/// The attribute's arguments: `init`, `flavor`, `logging` and `stream`, each at most once.
fn parse_options(args: TokenStream) -> Result<Options> {
    let mut init = None;
    let mut flavor = None;
    let mut logging = None;
    let mut stream = None;
    let parser = syn::meta::parser(|meta| {
        let name = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let duplicate = || meta.error(format!("`{name}` is given twice"));
        match name.as_str() {
            "init" => {
                let value: Expr = meta.value()?.parse()?;
                let Expr::Path(path) = value else {
                    return Err(Error::new_spanned(
                        value,
                        "`init` takes the name of a fn: `init = setup`",
                    ));
                };
                if init.replace(path.path).is_some() {
                    return Err(duplicate());
                }
            }
            "flavor" => {
                let value: LitStr = meta.value()?.parse()?;
                let parsed = match value.value().as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        return Err(Error::new_spanned(
                            value,
                            format!(
                                "unknown flavor `{other}`: use \"current_thread\" (the default) or \"multi_thread\""
                            ),
                        ));
                    }
                };
                if flavor.replace(parsed).is_some() {
                    return Err(duplicate());
                }
            }
            "logging" => {
                let value: LitBool = meta.value()?.parse()?;
                if logging.replace(value.value).is_some() {
                    return Err(duplicate());
                }
            }
            "stream" => {
                let value = if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<LitBool>()?.value
                } else {
                    true
                };
                if stream.replace(value).is_some() {
                    return Err(duplicate());
                }
            }
            _ => {
                let shown = quote::ToTokens::to_token_stream(&meta.path)
                    .to_string()
                    .replace(' ', "");
                return Err(meta.error(format!("unknown option `{shown}`: {OPTIONS}")));
            }
        }
        Ok(())
    });
    parser.parse2(args)?;
    Ok(Options {
        init,
        flavor: flavor.unwrap_or(Flavor::CurrentThread),
        logging: logging.unwrap_or(true),
        stream: stream.unwrap_or(false),
    })
}

/// Rules on the fn itself, before its arguments.
fn check_signature(function: &ItemFn) -> Result<()> {
    let sig = &function.sig;
    if sig.ident == "main" {
        return Err(Error::new_spanned(
            &sig.ident,
            "the handler cannot be called `main`: #[lambkin::handler] generates `main` beside it; rename the fn",
        ));
    }
    if let Some(token) = &sig.constness {
        return Err(Error::new_spanned(
            token,
            "a handler cannot be a `const fn`",
        ));
    }
    if let Some(token) = &sig.unsafety {
        return Err(Error::new_spanned(
            token,
            "a handler cannot be an `unsafe fn`",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(Error::new_spanned(
            abi,
            "a handler cannot declare an ABI: remove `extern`",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(Error::new_spanned(variadic, "a handler cannot be variadic"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new_spanned(
            &sig.generics,
            "a handler cannot be generic: the runtime must know the concrete event type to deserialize; name it (e.g. `serde_json::Value` or a type from `lambkin::events`)",
        ));
    }
    Ok(())
}

/// With `init`, the first argument receives the state by shared reference.
fn state_type(arg: Option<&PatType>, init: &Path, function: &ItemFn) -> Result<Type> {
    let init = quote::ToTokens::to_token_stream(init)
        .to_string()
        .replace(' ', "");
    let Some(arg) = arg else {
        return Err(Error::new(
            function.sig.paren_token.span.join(),
            format!(
                "with `init = {init}`, the handler takes the state first: `fn name(state: &State, event: E)`"
            ),
        ));
    };
    match &*arg.ty {
        Type::Reference(r) if r.mutability.is_none() => Ok((*r.elem).clone()),
        Type::Reference(r) => Err(Error::new_spanned(
            r,
            "the state is shared by every invocation: take `&State`, and use interior mutability (atomics, `Mutex`) to change it",
        )),
        other => Err(Error::new_spanned(
            other,
            format!(
                "with `init = {init}`, the first argument receives the state `{init}` built: take it by reference, `state: &State`"
            ),
        )),
    }
}

/// Whether `ty` is a path whose last segment is `name` (`Context`, `lambkin::Context`, …).
fn last_segment_is(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == name))
}
