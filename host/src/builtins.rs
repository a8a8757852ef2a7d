//! The first-party plugins shipped inside the `hoist` binary, addressed in a
//! registry as `source = "builtin:NAME"`. The list is `plugins/builtins.toml`;
//! `host/build.rs` generates [`BUILTINS`] from it.

use crate::runtime::PluginKind;

pub struct Builtin {
    pub name: &'static str,
    pub kind: PluginKind,
    pub bytes: &'static [u8],
    pub summary: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The builtin called `name`, if any.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_a_named_component() {
        let mut names = std::collections::BTreeSet::new();
        for builtin in BUILTINS {
            assert!(names.insert(builtin.name), "`{}` is listed twice", builtin.name);
            assert!(hoist_registry::validate_name(builtin.name).is_ok(), "{}", builtin.name);
            assert!(builtin.bytes.starts_with(b"\0asm"), "{} is not wasm", builtin.name);
            assert!(find(builtin.name).is_some_and(|b| b.kind == builtin.kind && b.bytes == builtin.bytes));
        }
        assert!(find("blue-green").is_some_and(|b| b.kind == PluginKind::Strategy));
        assert!(find("docker").is_some_and(|b| b.kind == PluginKind::Platform));
    }
}
