//! Reading a dotted key of an experiment table, with the path rules of
//! `--set`: a part names a table entry, or indexes an array from 0
//! (`initial.components.1.sd`).

/// Returns the value at `key` in `table`, or `None` when a part is missing.
pub fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut current = table.get(parts.next()?)?;
    for part in parts {
        current = match current {
            toml::Value::Table(inner) => inner.get(part)?,
            toml::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> toml::Table {
        toml::from_str(
            r#"
            seed = 3
            [initial]
            components = [{ sd = 0.3 }, { sd = 0.4 }]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn lookup_follows_tables_and_indices() {
        let table = table();
        assert_eq!(lookup(&table, "seed").and_then(toml::Value::as_integer), Some(3));
        assert_eq!(lookup(&table, "initial.components.1.sd").and_then(toml::Value::as_float), Some(0.4));
    }

    #[test]
    fn lookup_of_missing_part_is_none() {
        let table = table();
        assert!(lookup(&table, "initial.components.2.sd").is_none());
        assert!(lookup(&table, "initial.components.first").is_none());
        assert!(lookup(&table, "seed.value").is_none());
        assert!(lookup(&table, "learn").is_none());
    }
}
