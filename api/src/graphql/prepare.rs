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
//!   resolvers already carry a code and are left exactly as they are ([`errors`]).
//! - The answer's objects are put in selection order (GraphQL spec, "Serialized Map
//!   Ordering"): async-graphql resolves a query's fields concurrently and inserts each as
//!   it completes, so a slow field can come out after a later one ([`order`]).

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{
    Pos, Positioned, Request, Response, ServerError, ServerResult, ValidationResult, Variables,
};

use crate::error::Code;

mod errors;
mod order;

use errors::{code_of, coded, late_error, parse_error, validation_errors};
use order::in_selection_order;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
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
