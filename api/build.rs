//! The git commit the binary is built from, for `tsunagi --version` and the start-up log:
//! `GIT_COMMIT_SHORT` (short hash; "unknown" outside a
//! git checkout, e.g. from a source tarball).

use std::process::Command;

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GIT_COMMIT_SHORT={commit}");
    // Rebuild the version when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    // git may fail once (not installed yet, a checkout not trusted yet): without these lines
    // a binary saying "unknown" would never be rebuilt, so watch the checkout's HEAD anyway.
    let git_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git");
    for watched in ["HEAD", "refs/heads"] {
        let path = git_dir.join(watched);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
