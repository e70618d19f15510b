//! Whether an AWS profile named on the command line (`--profile`) exists in the files the AWS
//! CLI reads ([`check`]): the SDK would go on without it, with whatever else it finds.

use std::path::PathBuf;

/// The config and credentials files, as the AWS CLI finds them.
fn files() -> [(PathBuf, bool); 2] {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    // As the AWS CLI does: `~` in the variables is the home directory.
    let from = |var: &str, default: &str| match std::env::var(var) {
        Ok(v) => match v.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(v),
        },
        Err(_) => home.join(".aws").join(default),
    };
    [
        (from("AWS_CONFIG_FILE", "config"), true),
        (from("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ]
}

/// Whether `text` (a config file when `config`, else a credentials file) has a section for
/// profile `name`: `[profile NAME]` (or `[default]`) in a config file, `[NAME]` in credentials.
fn has_profile(text: &str, name: &str, config: bool) -> bool {
    text.lines()
        .filter_map(|l| {
            // A comment may follow a section header: `[profile ops] # prod`.
            let l = l.split(['#', ';']).next().unwrap_or_default().trim();
            l.strip_prefix('[')?.strip_suffix(']')
        })
        .map(str::trim)
        .any(|section| match section.strip_prefix("profile ") {
            Some(p) => config && p.trim() == name,
            None => section == name && (!config || name == "default"),
        })
}

/// `Ok` when profile `name` is in the config or credentials file; otherwise the error names
/// the profile and the files looked in.
pub fn check(name: &str) -> Result<(), String> {
    let files = files();
    let found = files.iter().any(|(path, config)| {
        std::fs::read_to_string(path).is_ok_and(|text| has_profile(&text, name, *config))
    });
    if found {
        return Ok(());
    }
    Err(format!(
        "unknown AWS profile `{name}`: it is in neither {} nor {} (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name others)",
        files[0].0.display(),
        files[1].0.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::has_profile;

    #[test]
    fn profiles_are_found_as_the_aws_cli_finds_them() {
        let config =
            "[default]\nregion = us-east-1\n[profile ops]\nrole_arn = x\n[sso-session s]\n";
        assert!(has_profile(config, "ops", true));
        assert!(has_profile(config, "default", true));
        assert!(
            !has_profile(config, "s", true),
            "a session is not a profile"
        );
        assert!(
            !has_profile("[ops]\n", "ops", true),
            "config files say `profile ops`"
        );
        assert!(has_profile("[ops]\naws_access_key_id = A\n", "ops", false));
        assert!(!has_profile("[other]\n", "ops", false));
        assert!(
            has_profile("[profile ops] # prod\n", "ops", true),
            "a comment after it"
        );
    }
}
