//! `runsc install` and `runsc uninstall`: register this runsc as a runtime
//! in Docker's daemon.json (or take it out), keeping every other key and
//! their order. A file that is not JSON is refused and left untouched.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{Map, Value};

/// Arguments of `install`.
#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Docker's daemon configuration file.
    #[arg(long = "config-file", default_value = "/etc/docker/daemon.json")]
    config_file: PathBuf,
    /// The runtime's name in Docker (`docker run --runtime=NAME`).
    #[arg(long, default_value = "runsc")]
    runtime: String,
    /// Flags Docker passes to runsc for this runtime (after `--`).
    #[arg(last = true)]
    runtime_args: Vec<String>,
}

/// Arguments of `uninstall`.
#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Docker's daemon configuration file.
    #[arg(long = "config-file", default_value = "/etc/docker/daemon.json")]
    config_file: PathBuf,
    /// The runtime's name in Docker.
    #[arg(long, default_value = "runsc")]
    runtime: String,
}

/// The configuration as a JSON object: {} for a missing or empty file.
fn read_config(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => bail!("{} is not a JSON object; left unchanged", path.display()),
        Err(e) => bail!("{} is not valid JSON ({e}); left unchanged", path.display()),
    }
}

/// Write the configuration atomically (a temporary file renamed over it),
/// keeping the old file's mode.
fn write_config(path: &Path, m: Map<String, Value>) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&Value::Object(m))?;
    text.push('\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("runsc-{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display())).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `runsc install`.
pub fn run_install(a: &InstallArgs) -> anyhow::Result<i32> {
    if a.runtime.is_empty() {
        bail!("--runtime must not be empty");
    }
    let mut m = read_config(&a.config_file)?;
    let exe = std::env::current_exe().context("finding this runsc")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let runtimes = m.entry("runtimes").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(runtimes) = runtimes else {
        bail!("\"runtimes\" in {} is not an object; left unchanged", a.config_file.display());
    };
    let mut entry = Map::new();
    entry.insert("path".into(), Value::String(exe.to_string_lossy().into_owned()));
    if !a.runtime_args.is_empty() {
        entry.insert("runtimeArgs".into(), Value::Array(a.runtime_args.iter().cloned().map(Value::String).collect()));
    }
    runtimes.insert(a.runtime.clone(), Value::Object(entry));
    write_config(&a.config_file, m)?;
    println!("runtime {:?} ({}) added to {}; restart dockerd to use it", a.runtime, exe.display(), a.config_file.display());
    Ok(0)
}

/// `runsc uninstall`.
pub fn run_uninstall(a: &UninstallArgs) -> anyhow::Result<i32> {
    let mut m = read_config(&a.config_file)?;
    let removed = match m.get_mut("runtimes") {
        Some(Value::Object(r)) => {
            let gone = r.shift_remove(&a.runtime).is_some();
            if r.is_empty() {
                m.shift_remove("runtimes");
            }
            gone
        }
        _ => false,
    };
    if !removed {
        bail!("runtime {:?} is not in {}", a.runtime, a.config_file.display());
    }
    write_config(&a.config_file, m)?;
    println!("runtime {:?} removed from {}", a.runtime, a.config_file.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("runsc-install-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("daemon.json")
    }

    #[test]
    fn install_keeps_other_keys_in_order_and_uninstall_reverts() {
        let f = tmp("keep");
        std::fs::write(&f, r#"{"zeta": 1, "runtimes": {"other": {"path": "/x"}}, "alpha": [true]}"#).unwrap();
        let args = InstallArgs { config_file: f.clone(), runtime: "rs".into(), runtime_args: vec!["--platform=ptrace".into()] };
        run_install(&args).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["zeta", "runtimes", "alpha"]);
        assert_eq!(v["runtimes"]["other"]["path"], "/x");
        assert_eq!(v["runtimes"]["rs"]["runtimeArgs"][0], "--platform=ptrace");
        run_uninstall(&UninstallArgs { config_file: f.clone(), runtime: "rs".into() }).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert!(v["runtimes"].get("rs").is_none() && v["runtimes"]["other"]["path"] == "/x");
        assert!(run_uninstall(&UninstallArgs { config_file: f.clone(), runtime: "rs".into() }).is_err());
    }

    #[test]
    fn not_json_is_refused_and_untouched() {
        let f = tmp("bad");
        std::fs::write(&f, "{ not json").unwrap();
        let err = run_install(&InstallArgs { config_file: f.clone(), runtime: "runsc".into(), runtime_args: vec![] }).unwrap_err();
        assert!(format!("{err:#}").contains("not valid JSON"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "{ not json");
    }

    #[test]
    fn a_missing_file_is_created() {
        let f = tmp("new");
        run_install(&InstallArgs { config_file: f.clone(), runtime: "runsc".into(), runtime_args: vec![] }).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert!(v["runtimes"]["runsc"]["path"].as_str().is_some());
    }
}
