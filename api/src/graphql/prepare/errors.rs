//! async-graphql's own errors in the house style: a code (GRAPHQL_PARSE_FAILED,
//! GRAPHQL_VALIDATION_FAILED or BAD_USER_INPUT, README §7), a Japanese + English message
//! with `locations` (never the parser's ASCII art), and `extensions.field` where an argument
//! or input field is at fault. The texts are matched on async-graphql's messages.

use async_graphql::registry::{MetaType, Registry};
use async_graphql::{ErrorExtensionValues, Pos, ServerError};

use crate::error::Code;

pub(super) fn code_of(e: &ServerError) -> Option<&async_graphql::Value> {
    e.extensions.as_ref().and_then(|x| x.get("code"))
}

/// A coded error in place of `original`, at its locations and path.
pub(super) fn coded(
    code: Code,
    message: String,
    field: Option<&str>,
    original: &ServerError,
) -> ServerError {
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
pub(super) fn parse_error(e: &ServerError) -> ServerError {
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
pub(super) fn validation_errors(
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
pub(super) fn late_error(e: &ServerError, arguments: &[(Pos, String)]) -> ServerError {
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
}
