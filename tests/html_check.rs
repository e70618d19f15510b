//! One check of the advise page's markup, shared by its unit tests (`src/advise/html/tests.rs`)
//! and the integration test of `advise --html` (`tests/integration/advise.rs`).

/// Parses the page as XML-style markup: every element closed in order, attributes quoted,
/// no `>` in text and every `&` an entity.
pub fn assert_well_formed(page: &str) {
    let body = page.strip_prefix("<!DOCTYPE html>\n").expect("a doctype");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        assert!(!text.contains('>'), "stray > in text: {text}");
        for (k, _) in text.match_indices('&') {
            let entity = text[k + 1..].split(';').next().unwrap();
            assert!(
                text[k..].contains(';')
                    && !entity.is_empty()
                    && entity
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '#'),
                "bare & in text: {text}"
            );
        }
        let end = rest[i..].find('>').expect("unclosed tag") + i;
        let tag = &rest[i + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}
