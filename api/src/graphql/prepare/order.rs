//! The answer's objects in selection order (GraphQL spec, "Serialized Map Ordering"):
//! async-graphql resolves a query's fields concurrently and inserts each as it completes,
//! so a slow field can come out after a later one.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Value};

/// Put every object of `value` in the order its selection sets (`sets`, merged) ask for its
/// keys: the first place each response key (alias or name) is selected, fragments expanded
/// where they are spread. The schema has no interfaces or unions, so every fragment applies;
/// a key the walk does not find keeps its place after the others.
pub(super) fn in_selection_order(
    value: &mut Value,
    sets: &[&SelectionSet],
    doc: &ExecutableDocument,
) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::prepare::selected;

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
}
