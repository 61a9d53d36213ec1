//! Printing a file store's status (for `doctor`).

use oauth_store::file::FileStatus;

/// Prints the status lines.
pub(crate) fn print(s: &FileStatus) {
    println!("store file:    {}", s.path.display());
    if !s.exists {
        println!("               does not exist yet; the first write creates it");
        return;
    }
    if let Some(mode) = s.mode {
        println!("file mode:     {mode:04o}");
    }
    if let Some(v) = s.version {
        println!("format:        v{v}");
    }
    if let Some(id) = &s.key_id {
        println!("key id:        {id}");
    }
    if let Some(n) = s.entries {
        println!("entries:       {n}");
    }
    println!(
        "lock:          {}",
        if s.locked {
            "held by another process"
        } else {
            "free"
        }
    );
}

/// The problems the backend found, each with a fix.
pub(crate) fn problems(s: &FileStatus) -> Vec<(String, String)> {
    s.problems
        .iter()
        .map(|p| (p.clone(), "see the message".to_owned()))
        .collect()
}
