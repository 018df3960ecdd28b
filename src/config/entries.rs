//! A YAML mapping read in file order, with duplicate keys rejected.
//!
//! Scenarios run in the order they are written and targets/models are listed that
//! way, so a `HashMap` will not do; and a duplicated name is almost always a
//! copy-paste slip that should be an error, not a silent "last one wins".

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// `name: value` pairs in file order; names are unique.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entries<V>(pub Vec<(String, V)>);

impl<V> Entries<V> {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to settings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Entries<V>, E> {
                Ok(Entries(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if entries.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format_args!("duplicate key `{name}`")));
                    }
                    let value = map.next_value()?;
                    entries.push((name, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_file_order() {
        let e: Entries<u32> = serde_yaml::from_str("zeta: 1\nalpha: 2\nmid: 3\n").unwrap();
        assert_eq!(e.names().collect::<Vec<_>>(), ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn rejects_duplicates() {
        let err = serde_yaml::from_str::<Entries<u32>>("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.to_string().contains("duplicate key `a`"), "{err}");
    }
}
