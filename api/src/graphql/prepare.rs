//! Before an operation runs: the depth and complexity limits, and async-graphql's own errors
//! in the house style.
//!
//! - Depth and complexity are checked here rather than by async-graphql's `limit_depth`, so
//!   that an operation made only of introspection — every root field `__schema`, `__type` or
//!   `__typename` — is held to its own depth limit ([`INTROSPECTION_MAX_DEPTH`]): the
//!   standard introspection query follows `ofType` nine levels down. Every other operation
//!   keeps the configured limit. `__schema` and `__type` exist only at the root, so a deep
//!   query that also asks for them is not introspection-only and gets no exemption.
//! - Errors raised by async-graphql itself — a document that does not parse, one that does
//!   not fit the schema, argument and variable values of the wrong type or enum value,
//!   missing required arguments and input fields, the operation name — get a code
//!   (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED or BAD_USER_INPUT, README §7), a
//!   Japanese + English message with `locations` (never the parser's ASCII art), and
//!   `extensions.field` where an argument or input field is at fault. Errors raised by our
//!   resolvers already carry a code and are left exactly as they are.
//! - The answer's objects are put in selection order (GraphQL spec, "Serialized Map
//!   Ordering"): async-graphql resolves a query's fields concurrently and inserts each as
//!   it completes, so a slow field can come out after a later one.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{
    ErrorExtensionValues, Name, Pos, Positioned, Request, Response, ServerError, ServerResult,
    ValidationResult, Value, Variables,
};

use crate::error::Code;

/// The depth limit of an introspection-only operation. The standard introspection query
/// (graphql-js `getIntrospectionQuery`, every option on) is 15 deep.
pub const INTROSPECTION_MAX_DEPTH: usize = 20;

/// The schema extension (one instance per request).
pub struct Prepare {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Whether introspection is enabled (README §3); when it is not, asking for `__schema`
    /// or `__type` is refused with a coded error (async-graphql alone would answer null).
    pub introspection: bool,
}

impl ExtensionFactory for Prepare {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PrepareRequest {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            introspection: self.introspection,
            seen: Mutex::new(Seen::default()),
        })
    }
}

struct PrepareRequest {
    max_depth: usize,
    max_complexity: usize,
    introspection: bool,
    seen: Mutex<Seen>,
}

/// What the request's earlier stages learned.
#[derive(Default)]
struct Seen {
    operation_name: Option<String>,
    introspection_only: bool,
    asks_introspection: bool,
    /// Where each argument's value stands in the document, and the argument's name.
    arguments: Vec<(Pos, String)>,
    /// The document, for putting the answer in selection order.
    document: Option<ExecutableDocument>,
}

impl PrepareRequest {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PrepareRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        // What is still uncoded here failed after validation: the operation name, or an
        // argument value that passed validation but not parsing.
        let seen = self.seen();
        for e in &mut response.errors {
            if code_of(e).is_none() {
                *e = late_error(e, &seen.arguments);
            }
        }
        response
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let seen = self.seen();
        if let Some(doc) = &seen.document {
            if let Some(op) = selected(doc, operation_name) {
                in_selection_order(&mut response.data, &[&op.node.selection_set.node], doc);
            }
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.seen().operation_name = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        match next.run(ctx, query, variables).await {
            Ok(doc) => {
                let mut seen = self.seen();
                let name = seen.operation_name.clone();
                seen.introspection_only = introspection_only(&doc, name.as_deref());
                seen.asks_introspection = asks_introspection(&doc, name.as_deref());
                seen.arguments = argument_positions(&doc);
                seen.document = Some(doc.clone());
                Ok(doc)
            }
            Err(e) => Err(parse_error(&e)),
        }
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let checked = next.run(ctx).await.map_err(|errors| {
            validation_errors(errors, &ctx.schema_env.registry, &self.seen().arguments)
        })?;
        let limit = |message: String| {
            vec![coded(
                Code::BadUserInput,
                message,
                Some("query"),
                &ServerError::new("", None),
            )]
        };
        if !self.introspection && self.seen().asks_introspection {
            return Err(vec![coded(
                Code::GraphqlValidationFailed,
                "このサーバではイントロスペクションが無効です / introspection is disabled on this server".to_owned(),
                None,
                &ServerError::new("", None),
            )]);
        }
        let max = self.max_complexity;
        if checked.complexity > max {
            let n = checked.complexity;
            return Err(limit(format!(
                "問い合わせが複雑すぎます (複雑度 {n}、上限 {max}。一覧は first 倍で数えます) / the query is too complex ({n}, at most {max}; a list counts first times its selection)"
            )));
        }
        let max = if self.seen().introspection_only {
            INTROSPECTION_MAX_DEPTH
        } else {
            self.max_depth
        };
        if checked.depth > max {
            let n = checked.depth;
            return Err(limit(format!(
                "問い合わせの入れ子が深すぎます (深さ {n}、上限 {max}) / the query is nested too deep ({n} levels, at most {max})"
            )));
        }
        Ok(checked)
    }
}

/// The operation that will run: the named one, else the document's only one.
fn selected<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// Whether the operation asks for `__schema` or `__type` at its root (directly or through
/// fragments at the root).
fn asks_introspection(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    fn root(doc: &ExecutableDocument, set: &SelectionSet, spreads: &mut Vec<String>) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(i) => root(doc, &i.node.selection_set.node, spreads),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.to_string();
                if spreads.contains(&name) {
                    return false;
                }
                spreads.push(name);
                doc.fragments
                    .get(&s.node.fragment_name.node)
                    .is_some_and(|f| root(doc, &f.node.selection_set.node, spreads))
            }
        })
    }
    selected(doc, operation_name)
        .is_some_and(|op| root(doc, &op.node.selection_set.node, &mut Vec::new()))
}

/// Whether every root field of the operation is `__schema`, `__type` or `__typename`.
fn introspection_only(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    selected(doc, operation_name).is_some_and(|op| {
        let items = &op.node.selection_set.node.items;
        op.node.ty == OperationType::Query
            && !items.is_empty()
            && items.iter().all(|item| match &item.node {
                Selection::Field(f) => {
                    matches!(
                        f.node.name.node.as_str(),
                        "__schema" | "__type" | "__typename"
                    )
                }
                // A fragment at the root could hold anything: no exemption.
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
            })
    })
}

/// Put every object of `value` in the order its selection sets (`sets`, merged) ask for its
/// keys: the first place each response key (alias or name) is selected, fragments expanded
/// where they are spread. The schema has no interfaces or unions, so every fragment applies;
/// a key the walk does not find keeps its place after the others.
fn in_selection_order(value: &mut Value, sets: &[&SelectionSet], doc: &ExecutableDocument) {
    fn collect<'d>(
        set: &'d SelectionSet,
        doc: &'d ExecutableDocument,
        keys: &mut Vec<(&'d Name, Vec<&'d SelectionSet>)>,
        spread: &mut Vec<&'d Name>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let key = f.node.alias.as_ref().map_or(&f.node.name.node, |a| &a.node);
                    let sub = &f.node.selection_set.node;
                    match keys.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, subs)) => subs.push(sub),
                        None => keys.push((key, vec![sub])),
                    }
                }
                Selection::InlineFragment(i) => {
                    collect(&i.node.selection_set.node, doc, keys, spread)
                }
                Selection::FragmentSpread(s) => {
                    let name = &s.node.fragment_name.node;
                    if spread.contains(&name) {
                        continue;
                    }
                    spread.push(name);
                    if let Some(f) = doc.fragments.get(name) {
                        collect(&f.node.selection_set.node, doc, keys, spread);
                    }
                }
            }
        }
    }
    match value {
        Value::List(items) => {
            for item in items {
                in_selection_order(item, sets, doc);
            }
        }
        Value::Object(map) => {
            let mut keys = Vec::new();
            let mut spread = Vec::new();
            for set in sets {
                collect(set, doc, &mut keys, &mut spread);
            }
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
            for (key, subs) in keys {
                if let Some((k, mut v)) = map.shift_remove_entry(key) {
                    in_selection_order(&mut v, &subs, doc);
                    ordered.insert(k, v);
                }
            }
            ordered.extend(std::mem::take(map));
            *map = ordered;
        }
        _ => {}
    }
}

fn argument_positions(doc: &ExecutableDocument) -> Vec<(Pos, String)> {
    fn walk(set: &Positioned<SelectionSet>, out: &mut Vec<(Pos, String)>) {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(f) => {
                    for (name, value) in &f.node.arguments {
                        out.push((value.pos, name.node.to_string()));
                    }
                    walk(&f.node.selection_set, out);
                }
                Selection::InlineFragment(i) => walk(&i.node.selection_set, out),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set, &mut out);
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set, &mut out);
    }
    out
}

fn code_of(e: &ServerError) -> Option<&async_graphql::Value> {
    e.extensions.as_ref().and_then(|x| x.get("code"))
}

/// A coded error in place of `original`, at its locations and path.
fn coded(code: Code, message: String, field: Option<&str>, original: &ServerError) -> ServerError {
    let mut e = ServerError::new(message, None);
    e.locations = original.locations.clone();
    e.path = original.path.clone();
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    if let Some(field) = field {
        ext.set("field", field);
    }
    e.extensions = Some(ext);
    e
}

/// The text between `prefix` and the next `until` in `s`, and what follows.
fn cut<'a>(s: &'a str, prefix: &str, until: &str) -> Option<(&'a str, &'a str)> {
    s.strip_prefix(prefix)?.split_once(until)
}

/// A document that async-graphql could not parse, or that is over the parser's limits.
fn parse_error(e: &ServerError) -> ServerError {
    let m = e.message.as_str();
    let at = e
        .locations
        .first()
        .map(|p| (p.line, p.column))
        .unwrap_or((1, 1));
    let limit = |message: String| coded(Code::BadUserInput, message, Some("query"), e);
    if let Some((n, _)) = cut(
        m,
        "The recursion depth of the query cannot be greater than `",
        "`",
    ) {
        return limit(format!(
            "文書の入れ子が深すぎます (上限 {n}) / the document is nested too deep (at most {n} levels)"
        ));
    }
    if m == "recursion limit exceeded." {
        return limit("文書の入れ子が深すぎます / the document is nested too deep".to_owned());
    }
    if let Some((_, rest)) = cut(m, "The number of directives on the field `", "`") {
        let n = rest.trim_matches(|c: char| !c.is_ascii_digit());
        return limit(format!(
            "1 つの項目のディレクティブが多すぎます (上限 {n}) / too many directives on one field (at most {n})"
        ));
    }
    let message = if m.contains(" --> ") {
        // The parser's rendering: a source excerpt with arrows, then "= what was expected".
        let detail = m
            .lines()
            .rev()
            .find_map(|l| l.trim_start().strip_prefix("= "))
            .unwrap_or("unexpected input");
        let detail = plain_grammar(detail);
        format!(
            "GraphQL の構文エラーです ({} 行 {} 列) / GraphQL syntax error (line {}, column {}): {detail}",
            at.0, at.1, at.0, at.1
        )
    } else if m == "document contains multiple operations" {
        "名前のない操作は、文書の唯一の操作でなければなりません / an anonymous operation must be the only operation in its document".to_owned()
    } else if m == "document does not contain an operation" {
        "文書に操作がありません / the document contains no operation".to_owned()
    } else if let Some(name) = m
        .strip_prefix("operation ")
        .and_then(|r| r.strip_suffix(" is defined twice"))
    {
        format!("操作 {name} が 2 回定義されています / operation {name} is defined twice")
    } else if let Some(name) = m
        .strip_prefix("fragment ")
        .and_then(|r| r.strip_suffix(" is defined twice"))
    {
        format!("フラグメント {name} が 2 回定義されています / fragment {name} is defined twice")
    } else {
        format!("GraphQL の文書として読めません / not a GraphQL document: {m}")
    };
    coded(Code::GraphqlParseFailed, message, None, e)
}

/// The parser's grammar rule names (`selection_set`, `executable_definition`) in words.
fn plain_grammar(detail: &str) -> String {
    let word = |rule: &str| -> Option<&'static str> {
        Some(match rule {
            "executable_definition" | "operation_definition" | "named_operation_definition" => {
                "an operation or fragment"
            }
            "fragment_definition" | "fragment_spread" | "inline_fragment" => "a fragment",
            "selection_set" => "a { … } block",
            "selection" | "field" => "a field",
            "alias" => "an alias",
            "arguments" | "argument" | "const_arguments" | "const_argument" => "arguments",
            "directives" | "directive" | "const_directives" | "const_directive" => "a directive",
            "variable_definitions" | "variable_definition" | "variable" => "a variable",
            "default_value" => "a default value",
            "type_" | "type_condition" => "a type",
            "name" | "name_start" => "a name",
            "value" | "const_value" => "a value",
            "object" | "const_object" => "an input object",
            "object_field" | "const_object_field" => "an input field",
            "list" | "const_list" => "a list",
            "string" | "string_content" | "block_string_content" => "a string",
            "int" | "float" | "number" | "fractional" | "exponent" => "a number",
            "boolean" => "true or false",
            "null" => "null",
            "enum_value" => "an enum value",
            "operation_type" => "query or mutation",
            "EOI" => "the end of the document",
            _ => return None,
        })
    };
    let mut out = String::new();
    let mut token = String::new();
    for c in detail.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            token.push(c);
        } else {
            out.push_str(word(&token).unwrap_or(&token));
            token.clear();
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

/// Validation errors, translated; the repeats dropped (async-graphql reports a bad argument
/// value once per rule that looks at it).
fn validation_errors(
    errors: Vec<ServerError>,
    registry: &Registry,
    arguments: &[(Pos, String)],
) -> Vec<ServerError> {
    let several = errors.len() > 1;
    let mut out: Vec<ServerError> = Vec::new();
    for e in errors {
        // The complexity count parses argument values too and reports what the argument
        // check already said (at the field rather than the argument).
        let repeat = e.message.starts_with("Expected input type ")
            || e.message.starts_with("Failed to parse ");
        if repeat && several {
            continue;
        }
        let e = validation_error(&e, registry, arguments);
        if !out
            .iter()
            .any(|o| o.message == e.message && o.locations == e.locations)
        {
            out.push(e);
        }
    }
    out
}

/// Suggestions (` Did you mean "a", "b"?`) in both languages.
fn suggestion(rest: &str) -> (String, String) {
    match rest
        .trim()
        .strip_prefix("Did you mean ")
        .and_then(|r| r.strip_suffix('?'))
    {
        Some(names) => (
            format!(" (候補: {names})"),
            format!(". Did you mean {names}?"),
        ),
        None => (String::new(), String::new()),
    }
}

fn validation_error(
    e: &ServerError,
    registry: &Registry,
    arguments: &[(Pos, String)],
) -> ServerError {
    let m = e.message.as_str();
    let input = |message: String, field: &str| coded(Code::BadUserInput, message, Some(field), e);
    let document = |message: String| coded(Code::GraphqlValidationFailed, message, None, e);

    if let Some((path, reason)) = cut(m, "Invalid value for argument \"", "\", ") {
        return argument_value(e, path, reason, registry);
    }
    if let Some((field, rest)) = cut(m, "Field \"", "\" argument \"") {
        if let Some((arg, _)) = rest.split_once('"') {
            return input(
                format!(
                    "{arg}: {field} の必須の引数がありません / {arg}: required argument of {field} not provided"
                ),
                arg,
            );
        }
    }
    if let Some((arg, rest)) = cut(m, "Unknown argument \"", "\" on field \"") {
        if let Some((field, rest)) = rest.split_once("\" of type \"") {
            if let Some((ty, rest)) = rest.split_once("\".") {
                let (ja, en) = suggestion(rest);
                return coded(
                    Code::GraphqlValidationFailed,
                    format!(
                        "{arg}: {ty}.{field} にこの引数はありません{ja} / {arg}: {ty}.{field} has no such argument{en}"
                    ),
                    Some(arg),
                    e,
                );
            }
        }
    }
    if let Some((field, rest)) = cut(m, "Unknown field \"", "\" on type \"") {
        if let Some((ty, rest)) = rest.split_once("\".") {
            if matches!(field, "__schema" | "__type") {
                return document(
                    "このサーバではイントロスペクションが無効です / introspection is disabled on this server".to_owned(),
                );
            }
            let (ja, en) = suggestion(rest);
            return document(format!(
                "{ty} に項目 {field} はありません{ja} / {ty} has no field {field}{en}"
            ));
        }
    }
    if let Some((ty, _)) = cut(m, "Unknown type \"", "\"") {
        return document(format!("型 {ty} はありません / unknown type {ty}"));
    }
    if let Some(var) = m
        .strip_prefix("Variable \"$")
        .and_then(|r| r.split_once("\" is not used"))
        .map(|(v, _)| v)
    {
        return document(format!(
            "変数 ${var} が使われていません / variable ${var} is declared but not used"
        ));
    }
    let undefined = m
        .strip_prefix("Variable \"$")
        .and_then(|r| r.split_once("\" is not defined"))
        .or_else(|| {
            m.strip_prefix("Variable ")
                .and_then(|r| r.split_once(" is not defined."))
        });
    if let Some((var, _)) = undefined {
        let var = var.trim_start_matches('$');
        return document(format!(
            "変数 ${var} が宣言されていません / variable ${var} is not declared"
        ));
    }
    if let Some((var, rest)) = cut(m, "Variable \"", "\" of type \"") {
        if let Some((have, rest)) = rest.split_once("\" used in position expecting type \"") {
            let want = rest.trim_end_matches('"');
            let var = var.trim_start_matches('$');
            return document(format!(
                "変数 ${var} の型 {have} は、ここで必要な型 {want} と合いません / variable ${var} of type {have} is used where {want} is expected"
            ));
        }
    }
    if let Some((field, rest)) = cut(m, "Field \"", "\" must not have a selection since type \"") {
        let ty = rest.split('"').next().unwrap_or_default();
        return document(format!(
            "{field} は {ty} 型なので、下位の項目は選べません / {field} is a {ty}: it has no fields to select"
        ));
    }
    if let Some((field, rest)) = cut(m, "Field \"", "\" of type \"") {
        if let Some((ty, _)) = rest.split_once("\" must have a selection of subfields") {
            return document(format!(
                "{field} ({ty}) には下位の項目の選択が必要です / {field} ({ty}) needs a selection of its fields"
            ));
        }
    }
    if m.starts_with("Expected input type ") || m.starts_with("Failed to parse ") {
        return late_error(e, arguments);
    }
    document(format!(
        "文書がスキーマに合いません / the document does not fit the schema: {m}"
    ))
}

/// `Invalid value for argument "<path>", <reason>`: the argument or input field at `path`.
fn argument_value(e: &ServerError, path: &str, reason: &str, registry: &Registry) -> ServerError {
    let bad = |field: &str, message: String| coded(Code::BadUserInput, message, Some(field), e);
    if let Some((ty, _)) = cut(reason, "expected type \"", "\"") {
        return bad(
            path,
            format!(
                "{path}: {ty} 型の値を指定してください / {path}: expected a value of type {ty}"
            ),
        );
    }
    if let Some((ty, rest)) = cut(
        reason,
        "enumeration type \"",
        "\" does not contain the value \"",
    ) {
        let value = rest.strip_suffix('"').unwrap_or(rest);
        let allowed = match registry.types.get(ty) {
            Some(MetaType::Enum { enum_values, .. }) => enum_values
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        return bad(
            path,
            format!(
                "{path}: \"{value}\" は {ty} の値ではありません (使える値: {allowed}) / {path}: \"{value}\" is not a {ty} (one of: {allowed})"
            ),
        );
    }
    if let Some((name, rest)) = cut(reason, "field \"", "\" of type \"") {
        if let Some((ty, _)) = rest.split_once("\" is required but not provided") {
            let field = format!("{path}.{name}");
            return bad(
                &field,
                format!(
                    "{field}: 必須の項目です ({ty}) / {field}: required ({ty}) but not provided"
                ),
            );
        }
    }
    if let Some((name, rest)) = cut(reason, "unknown field \"", "\" of type \"") {
        let ty = rest.trim_end_matches('"');
        let field = format!("{path}.{name}");
        return bad(
            &field,
            format!("{field}: {ty} にこの項目はありません / {field}: {ty} has no such field"),
        );
    }
    bad(
        path,
        format!("{path}: 値が不正です / {path}: invalid value: {reason}"),
    )
}

/// An uncoded error after validation.
fn late_error(e: &ServerError, arguments: &[(Pos, String)]) -> ServerError {
    let m = e.message.as_str();
    if let Some((name, _)) = cut(m, "Unknown operation named \"", "\"") {
        return coded(
            Code::GraphqlValidationFailed,
            format!("文書に操作 {name} はありません / the document has no operation named {name}"),
            Some("operationName"),
            e,
        );
    }
    if m == "Operation name required in request." {
        return coded(
            Code::GraphqlValidationFailed,
            "文書に操作が複数あります。operationName で選んでください / the document has several operations: choose one with operationName".to_owned(),
            Some("operationName"),
            e,
        );
    }
    // An argument value that failed to parse: async-graphql reports it at the value.
    let field = e.locations.first().and_then(|at| {
        arguments
            .iter()
            .find(|(pos, _)| pos == at)
            .map(|(_, name)| name.as_str())
    });
    let message = match field {
        Some(f) => format!("{f}: 値を読み取れません / {f}: invalid value: {m}"),
        None => format!("入力が不正です / invalid input: {m}"),
    };
    coded(Code::BadUserInput, message, field, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    #[test]
    fn answers_are_put_in_selection_order() {
        let d = doc("{ b: viewer { z a ...F } a { y x } } fragment F on Viewer { m z { q p } }");
        let op = selected(&d, None).unwrap();
        let mut v: Value = serde_json::from_str(
            r#"{"a":{"x":1,"y":2},"b":{"a":1,"m":2,"z":{"p":1,"q":2},"extra":0}}"#,
        )
        .unwrap();
        in_selection_order(&mut v, &[&op.node.selection_set.node], &d);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"b":{"z":{"q":2,"p":1},"a":1,"m":2,"extra":0},"a":{"y":2,"x":1}}"#
        );
    }

    #[test]
    fn grammar_rules_are_words() {
        assert_eq!(
            plain_grammar("expected selection_set, selection, directive, or arguments"),
            "expected a { … } block, a field, a directive, or arguments"
        );
        assert_eq!(
            plain_grammar("expected EOI"),
            "expected the end of the document"
        );
    }

    #[test]
    fn only_root_introspection_is_exempt() {
        assert!(introspection_only(
            &doc("{ __schema { types { name } } }"),
            None
        ));
        assert!(introspection_only(
            &doc("query A { __typename __type(name: \"X\") { name } }"),
            None
        ));
        assert!(!introspection_only(
            &doc("{ __schema { types { name } } viewer { effectiveRoles } }"),
            None
        ));
        assert!(!introspection_only(
            &doc("{ ...F } fragment F on Query { __typename }"),
            None
        ));
        assert!(!introspection_only(&doc("mutation { __typename }"), None));
        let two = doc("query A { __typename } query B { viewer { effectiveRoles } }");
        assert!(introspection_only(&two, Some("A")));
        assert!(!introspection_only(&two, Some("B")));
        assert!(!introspection_only(&two, None));
    }

    #[test]
    fn introspection_through_root_fragments_is_seen() {
        let asks = |q: &str| asks_introspection(&doc(q), None);
        assert!(asks(
            "{ viewer { effectiveRoles } __type(name: \"X\") { name } }"
        ));
        assert!(asks("{ ... on Query { __schema { description } } }"));
        assert!(asks("{ ...F } fragment F on Query { ...G } fragment G on Query { __schema { description } }"));
        assert!(!asks("{ __typename viewer { effectiveRoles } }"));
        assert!(!asks("{ ...F } fragment F on Query { ...F }"));
    }
}
