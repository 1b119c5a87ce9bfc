//! Names as the hotfix configuration and routing compare them: repositories as GitHub allows
//! them, plugin ids and URLs in one normal form: `owner/repo[:workflow]` without its `@ref`,
//! lower-cased; a URL with its scheme and host lower-cased and its credentials, query,
//! fragment and trailing `/` removed. Both the configuration and the routing use these, so
//! they live apart from either.

/// `owner/repo` as GitHub allows it (the kernel's `parseOwnerRepo` pattern, with GitHub's
/// length limits): a name that passes can go into an API path or a link unescaped.
pub fn valid_repo_name(name: &str) -> bool {
    let Some((owner, repo)) = name.split_once('/') else {
        return false;
    };
    valid_owner_name(owner)
        && (1..=100).contains(&repo.len())
        && repo.bytes().all(name_byte)
        && !matches!(repo, "." | "..")
}

/// The owner part of [`valid_repo_name`] on its own: a user or organisation.
pub fn valid_owner_name(owner: &str) -> bool {
    (1..=39).contains(&owner.len()) && owner.bytes().all(name_byte) && !matches!(owner, "." | "..")
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// An `http(s)://` URL in normal form, or `None` when the text is not one.
pub fn normalise_url(text: &str) -> Option<String> {
    let text = text.trim();
    let scheme_end = text.find("://")?;
    let scheme = text[..scheme_end].to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // Credentials never belong in an id, and differ where the plugin does not.
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_'));
    if !host_ok {
        return None;
    }
    let after = &rest[authority_end..];
    let path = &after[..after.find(['?', '#']).unwrap_or(after.len())];
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(format!(
        "{scheme}://{}{}",
        host.to_ascii_lowercase(),
        path.trim_end_matches('/')
    ))
}

/// A plugin id without its `@ref`, lower-cased (a URL in URL normal form); `None` when empty.
/// `owner/repo:compute.yml@v1` and `Owner/Repo:compute.yml@main` are one plugin.
pub fn normalise_plugin_id(id: &str) -> Option<String> {
    let id = id.trim();
    if let Some(url) = normalise_url(id) {
        return Some(url);
    }
    if id.contains("://") {
        return None;
    }
    let without_ref = id.split_once('@').map_or(id, |(head, _)| head).trim();
    if without_ref.is_empty() || without_ref.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(without_ref.to_ascii_lowercase())
}

/// The repository of a normalised `owner/repo[:workflow]` id; `None` for URLs and non-repos.
pub fn plugin_repo_of(normalised_id: &str) -> Option<String> {
    let repo = normalised_id.split_once(':').map_or(normalised_id, |(repo, _)| repo);
    valid_repo_name(repo).then(|| repo.to_ascii_lowercase())
}

/// One entry of `self_ids` (or a name compared against them) in its compared form: a URL in
/// normal form, or a lower-cased `owner/repo` without `:workflow` and `@ref`.
pub fn self_id(text: &str) -> Option<String> {
    let id = normalise_plugin_id(text)?;
    if id.contains("://") {
        return Some(id);
    }
    plugin_repo_of(&id)
}
