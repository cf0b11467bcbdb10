//! Fetches the GraphiQL bundle from the npm registry at build time (`npm pack`, no install
//! scripts), checks each tarball against the pinned sha512 integrity in
//! `assets/graphiql/packages.txt`, and extracts the files the server embeds. Offline builds can point
//! `ROSTER_NPM_TARBALLS` at a folder holding the `.tgz` files.

use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha512};
use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest = "assets/graphiql/packages.txt";
    println!("cargo:rerun-if-changed={manifest}");
    println!("cargo:rerun-if-env-changed=ROSTER_NPM_TARBALLS");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("graphiql");
    fs::create_dir_all(&out).expect("create OUT_DIR/graphiql");
    let text = fs::read_to_string(manifest).expect("read assets/graphiql/packages.txt");
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, version, integrity, inner, served] = fields[..] else {
            panic!("{manifest}: expected 5 fields in `{line}`");
        };
        let target = out.join(served);
        if target.exists() {
            continue;
        }
        let tarball = fetch(&out, name, version);
        verify(&tarball, integrity);
        let staging = out.join(format!("x-{name}"));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).expect("create staging folder");
        run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&staging)
                .arg(inner),
            "tar",
        );
        fs::rename(staging.join(inner), &target).expect("move extracted file");
        let _ = fs::remove_dir_all(&staging);
    }
}

fn fetch(out: &Path, name: &str, version: &str) -> PathBuf {
    let file = format!("{name}-{version}.tgz");
    let path = out.join(&file);
    if path.exists() {
        return path;
    }
    if let Ok(dir) = env::var("ROSTER_NPM_TARBALLS") {
        fs::copy(Path::new(&dir).join(&file), &path)
            .unwrap_or_else(|e| panic!("copy {file} from ROSTER_NPM_TARBALLS: {e}"));
        return path;
    }
    run(
        Command::new("npm")
            .args([
                "pack",
                &format!("{name}@{version}"),
                "--silent",
                "--ignore-scripts",
                "--pack-destination",
            ])
            .arg(out),
        "npm pack (the GraphiQL bundle comes from the npm registry; set ROSTER_NPM_TARBALLS for offline builds)",
    );
    path
}

fn verify(tarball: &Path, integrity: &str) {
    let bytes = fs::read(tarball).expect("read tarball");
    let actual = format!("sha512-{}", STANDARD.encode(Sha512::digest(&bytes)));
    if actual != integrity {
        let _ = fs::remove_file(tarball);
        panic!(
            "{} does not match its pinned integrity {integrity} (got {actual})",
            tarball.display()
        );
    }
}

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed with {status}");
}
