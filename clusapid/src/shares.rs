//! The File Server role's shares: read from the clustered Samba's own configuration and kept
//! current while the daemon runs.
//!
//! The shares smbd really serves are those of its smb.conf plus, where the smb.conf includes it
//! (`include = registry`, `config backend = registry`, `registry shares = yes`), those of the
//! clustered registry configuration that `net conf` edits (on a CTDB cluster a persistent CTDB
//! database, `registry.tdb`, the same on every node). `testparm -s` prints exactly that merged
//! view, so it is what is read; where testparm is missing or fails, the smb.conf file itself is
//! parsed (its own sections only).
//!
//! [`watch`] re-reads when something changed: the smb.conf file (size, mtime, inode), or the
//! sequence number of the clustered `registry.tdb`, which every committed `net conf` change
//! bumps (one ctdbd round trip per poll, through [`ClusterBackend::database_seqnum`]); and,
//! as a safety net for files the smb.conf includes, every [`FULL_READ_EVERY`] regardless.
//! The parsers are plain functions over text, tested without Samba.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nodes::{ClusterBackend, Share};

/// How often [`watch`] looks for a change.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How often [`watch`] re-reads even when nothing it can see changed.
pub const FULL_READ_EVERY: Duration = Duration::from_secs(60);
/// How long one `testparm` run may take.
const TESTPARM_TIMEOUT: Duration = Duration::from_secs(10);
/// The clustered registry configuration's database.
pub const REGISTRY_DB: &str = "registry.tdb";

/// Sections that are not file shares.
const NOT_SHARES: [&str; 5] = ["global", "homes", "printers", "print$", "ipc$"];

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SharesError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("testparm: {0}")]
    Testparm(String),
}

/// The file shares of an smb.conf-format text (a file, or `testparm -s` output), in order:
/// every section but `[global]`, `[homes]`, `[printers]`, `[print$]`, `[IPC$]` and printable
/// ones, with their `path` and `comment`. Later sections of the same name (case-insensitive)
/// add to the first, as Samba's loader merges them.
pub fn parse_shares(text: &str) -> Vec<Share> {
    let mut shares: Vec<(Share, bool)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in logical_lines(text) {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(n, _)| n.trim()) {
            current = if name.is_empty() || NOT_SHARES.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                None
            } else if let Some(i) = shares.iter().position(|(s, _)| s.name.eq_ignore_ascii_case(name)) {
                Some(i)
            } else {
                shares.push((Share::named(name), false));
                Some(shares.len() - 1)
            };
            continue;
        }
        let (Some(i), Some((k, v))) = (current, l.split_once('=')) else { continue };
        let (share, printable) = &mut shares[i];
        let v = v.trim().to_string();
        match normalize_key(k).as_str() {
            "path" | "directory" => share.path = v,
            "comment" => share.comment = v,
            "printable" | "print ok" => *printable = is_true(&v),
            _ => {}
        }
    }
    shares.into_iter().filter(|(_, printable)| !printable).map(|(s, _)| s).collect()
}

/// Whether an smb.conf-format text takes shares or settings from the registry configuration.
pub fn uses_registry(text: &str) -> bool {
    let mut in_global = true; // parameters before any section are global
    for line in logical_lines(text) {
        let l = line.trim();
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(n, _)| n.trim()) {
            in_global = name.eq_ignore_ascii_case("global");
            continue;
        }
        let (true, Some((k, v))) = (in_global, l.split_once('=')) else { continue };
        let v = v.trim();
        match normalize_key(k).as_str() {
            "include" | "config backend" if v.eq_ignore_ascii_case("registry") => return true,
            "registry shares" if is_true(v) => return true,
            _ => {}
        }
    }
    false
}

/// Lines with smb.conf's backslash continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        match raw.trim_end().strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(raw);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

/// Parameter names are case- and space-insensitive ("Read Only" = "readonly" is not: Samba
/// keeps single spaces meaningful, so only case and runs of spaces are folded).
fn normalize_key(k: &str) -> String {
    k.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn is_true(v: &str) -> bool {
    ["yes", "true", "1", "on"].iter().any(|t| t.eq_ignore_ascii_case(v.trim()))
}

/// Where the shares come from: one smb.conf and the testparm that reads it.
#[derive(Clone, Debug)]
pub struct ShareSource {
    smb_conf: PathBuf,
    testparm: Option<PathBuf>,
}

impl ShareSource {
    /// The shares of `smb_conf`, read with the `testparm` on PATH (or in /usr/bin) if any.
    pub fn new(smb_conf: impl Into<PathBuf>) -> ShareSource {
        let testparm = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .chain([PathBuf::from("/usr/bin")])
            .map(|d| d.join("testparm"))
            .find(|p| p.is_file());
        ShareSource { smb_conf: smb_conf.into(), testparm }
    }

    /// The same, with an explicit testparm (`None`: parse the file itself).
    pub fn with_testparm(smb_conf: impl Into<PathBuf>, testparm: Option<PathBuf>) -> ShareSource {
        ShareSource { smb_conf: smb_conf.into(), testparm }
    }

    /// The smb.conf.
    pub fn smb_conf(&self) -> &Path {
        &self.smb_conf
    }

    /// Whether the smb.conf (now) takes shares from the registry configuration.
    pub fn uses_registry(&self) -> bool {
        std::fs::read_to_string(&self.smb_conf).is_ok_and(|t| uses_registry(&t))
    }

    /// The shares smbd serves now: testparm's view, else the smb.conf file's own sections.
    pub async fn read(&self) -> Result<Vec<Share>, SharesError> {
        let text = tokio::fs::read_to_string(&self.smb_conf)
            .await
            .map_err(|e| SharesError::Read { path: self.smb_conf.clone(), source: e })?;
        let Some(testparm) = &self.testparm else {
            return Ok(parse_shares(&text));
        };
        match self.run_testparm(testparm).await {
            Ok(dump) => Ok(parse_shares(&dump)),
            Err(e) if uses_registry(&text) => Err(e), // the file alone would lose the registry's shares
            Err(e) => {
                tracing::debug!(error = %e, "testparm failed; reading the smb.conf file itself");
                Ok(parse_shares(&text))
            }
        }
    }

    async fn run_testparm(&self, testparm: &Path) -> Result<String, SharesError> {
        let mut cmd = tokio::process::Command::new(testparm);
        cmd.arg("-s").arg("--suppress-prompt").arg(&self.smb_conf);
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        let out = tokio::time::timeout(TESTPARM_TIMEOUT, cmd.output())
            .await
            .map_err(|_| SharesError::Testparm(format!("no answer within {TESTPARM_TIMEOUT:?}")))?
            .map_err(|e| SharesError::Testparm(format!("{}: {e}", testparm.display())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(SharesError::Testparm(format!("{} ({last})", out.status)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// What [`watch`] compares between polls.
    async fn fingerprint(&self, backend: &dyn ClusterBackend) -> Fingerprint {
        let file = std::fs::metadata(&self.smb_conf).ok().map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
        let registry =
            if self.uses_registry() { backend.database_seqnum(REGISTRY_DB).await.ok().flatten() } else { None };
        Fingerprint { file, registry }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    file: Option<(u64, i64, i64, u64)>,
    registry: Option<u64>,
}

/// Names added and removed between two share lists, for the log.
fn changes(old: &[Share], new: &[Share]) -> (Vec<String>, Vec<String>) {
    let has = |list: &[Share], n: &str| list.iter().any(|s| s.name.eq_ignore_ascii_case(n));
    let added = new.iter().filter(|s| !has(old, &s.name)).map(|s| s.name.clone()).collect();
    let removed = old.iter().filter(|s| !has(new, &s.name)).map(|s| s.name.clone()).collect();
    (added, removed)
}

/// Keeps `backend`'s shares equal to what `source` serves, until the task is dropped: reads
/// when the smb.conf or the clustered registry changed, and every [`FULL_READ_EVERY`].
pub async fn watch(source: ShareSource, backend: Arc<dyn ClusterBackend>) {
    let mut last_seen: Option<Fingerprint> = None;
    let mut last_read = Instant::now();
    let mut current: Option<Vec<Share>> = None;
    let mut failing = false;
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let fp = source.fingerprint(&*backend).await;
        if last_seen == Some(fp) && last_read.elapsed() < FULL_READ_EVERY {
            continue;
        }
        last_read = Instant::now();
        match source.read().await {
            Ok(shares) => {
                last_seen = Some(fp);
                if failing {
                    tracing::info!(smb_conf = %source.smb_conf().display(), "Samba's configuration is readable again");
                    failing = false;
                }
                if current.as_ref() == Some(&shares) {
                    continue;
                }
                let (added, removed) = changes(current.as_deref().unwrap_or(&[]), &shares);
                match backend.set_shares(shares.clone()).await {
                    Ok(()) => {
                        if current.is_some() || !added.is_empty() {
                            tracing::info!(?added, ?removed, total = shares.len(), "File Server shares updated");
                        }
                        current = Some(shares);
                    }
                    Err(e) => tracing::warn!(error = %e, "Cannot update the File Server shares"),
                }
            }
            Err(e) => {
                // keep what is shown; try again at the next change or the next full read
                last_seen = Some(fp);
                if !failing {
                    tracing::warn!(smb_conf = %source.smb_conf().display(), error = %e, "Cannot read the shares; the File Server role keeps the last ones read");
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTPARM_DUMP: &str = "# Global parameters\n[global]\n\tclustering = Yes\n\tnetbios name = LABCLUSTER\n\
        \tregistry shares = Yes\n\n\n[data]\n\tcomment = Lab data share\n\tpath = /srv/data\n\tread only = No\n\n\n\
        [projects]\n\tcomment = Lab projects share\n\tpath = /srv/projects\n\n\n[printers]\n\tpath = /var/spool\n\tprintable = Yes\n\n\
        [lp]\n\tpath = /var/spool/lp\n\tprintable = Yes\n";

    #[test]
    fn testparm_dump() {
        assert_eq!(
            parse_shares(TESTPARM_DUMP),
            [
                Share { name: "data".into(), path: "/srv/data".into(), comment: "Lab data share".into() },
                Share { name: "projects".into(), path: "/srv/projects".into(), comment: "Lab projects share".into() },
            ]
        );
        assert!(uses_registry(TESTPARM_DUMP));
    }

    #[test]
    fn smb_conf_file_details() {
        let conf = "netbios name = X\n; comment line\n[Global]\n include = registry\n[homes]\n path = /home\n\
            [Data]\n  Path   =   /srv/d  \n COMMENT = first \\\n  and second\n[IPC$]\n[data]\n comment = later\n\
            [ ]\n[Pub]\n directory = /srv/pub\n print ok = no\n";
        assert_eq!(
            parse_shares(conf),
            [
                Share { name: "Data".into(), path: "/srv/d".into(), comment: "later".into() },
                Share { name: "Pub".into(), path: "/srv/pub".into(), comment: String::new() },
            ]
        );
        assert!(uses_registry(conf));
        assert!(uses_registry("config backend = registry\n"));
        assert!(!uses_registry("[global]\n include = /etc/samba/extra.conf\n[s]\n include = registry\n"));
        assert!(!uses_registry("[global]\n registry shares = no\n"));
        assert!(parse_shares("").is_empty());
        assert!(parse_shares("[unterminated\npath = /x\n").is_empty());
    }

    #[test]
    fn added_and_removed() {
        let a = [Share::named("a"), Share::named("b")];
        let b = [Share::named("B"), Share::named("c")];
        assert_eq!(changes(&a, &b), (vec!["c".to_string()], vec!["a".to_string()]));
    }

    #[tokio::test]
    async fn watch_follows_the_file() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("smb.conf");
        std::fs::write(&conf, "[global]\n[one]\n path = /srv/one\n").unwrap();
        let backend = Arc::new(nodes::SimulatedCluster::new(nodes::SimConfig::with_nodes(2)).unwrap());
        let source = ShareSource::with_testparm(&conf, None);
        assert_eq!(source.read().await.unwrap(), [Share { path: "/srv/one".into(), ..Share::named("one") }]);
        let task = tokio::spawn(watch(source, backend.clone()));
        let b = backend.clone();
        let has = move |name: &str| b.snapshot().find_resource_by_name(&format!("File Share {name}")).is_some();
        let until = |f: &dyn Fn() -> bool| {
            let t = Instant::now();
            while !f() {
                assert!(t.elapsed() < Duration::from_secs(10), "timed out");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        tokio::task::spawn_blocking(move || {
            until(&|| has("one") && !has("share"));
            std::fs::write(&conf, "[global]\n[two]\n path = /srv/two\n comment = second\n").unwrap();
            until(&|| has("two") && !has("one"));
        })
        .await
        .unwrap();
        task.abort();
    }
}
