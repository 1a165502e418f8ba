//! Server-side accounting through /proc: CPU (utime + stime of every thread, plus reaped
//! children) and memory (RSS, PSS from smaps_rollup) summed over a process tree, so one
//! `clusapid` and `samba-dcerpcd` with its forked `rpcd_*` helpers are measured alike.

use std::collections::HashMap;
use std::fs;

/// Clock ticks per second of /proc/PID/stat times.
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

struct Stat {
    name: String,
    ppid: i32,
    /// utime + stime + cutime + cstime, seconds.
    cpu: f64,
}

fn read_stat(pid: i32) -> Option<Stat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s[open + 1..close].to_string();
    let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
    // fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    Some(Stat { name, ppid: f.get(1)?.parse().ok()?, cpu: (n(11) + n(12) + n(13) + n(14)) / clk_tck() })
}

/// `root` and all its descendants that are alive now.
pub fn tree(root: i32) -> Vec<i32> {
    let mut kids: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            if let Some(st) = read_stat(pid) {
                kids.entry(st.ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    if fs::metadata(format!("/proc/{root}")).is_err() {
        return out;
    }
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        out.push(p);
        if let Some(k) = kids.get(&p) {
            todo.extend(k);
        }
    }
    out
}

/// CPU of a tree: total seconds and per process name.
#[derive(Clone, Debug, Default)]
pub struct TreeCpu {
    pub total: f64,
    pub by_name: HashMap<String, f64>,
}

/// CPU seconds consumed so far by the tree rooted at `root` (children that exited and were
/// reaped are in their parent's cutime/cstime, so the sum does not drop when a helper exits).
pub fn tree_cpu(root: i32) -> TreeCpu {
    let mut t = TreeCpu::default();
    for p in tree(root) {
        if let Some(st) = read_stat(p) {
            t.total += st.cpu;
            *t.by_name.entry(st.name).or_default() += st.cpu;
        }
    }
    t
}

/// Memory of a tree.
#[derive(Clone, Debug, Default)]
pub struct TreeMem {
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub procs: Vec<(String, u64, u64)>,
}

fn field_kib(text: &str, key: &str) -> Option<u64> {
    let l = text.lines().find(|l| l.starts_with(key))?;
    l[key.len()..].split_whitespace().next()?.parse().ok()
}

/// RSS and PSS of every process of the tree.
pub fn tree_mem(root: i32) -> TreeMem {
    let mut m = TreeMem::default();
    for p in tree(root) {
        let Ok(roll) = fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else { continue };
        let rss = field_kib(&roll, "Rss:").unwrap_or(0);
        let pss = field_kib(&roll, "Pss:").unwrap_or(0);
        let name = fs::read_to_string(format!("/proc/{p}/comm")).map(|s| s.trim().to_string()).unwrap_or_default();
        m.rss_kib += rss;
        m.pss_kib += pss;
        m.procs.push((name, rss, pss));
    }
    m.procs.sort();
    m
}

/// CPUs a process may run on.
pub fn affinity(pid: i32) -> Option<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some((0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect())
    }
}

/// Pins the calling process (every thread created afterwards inherits it).
pub fn set_affinity(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: as above; the set is initialised before use.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// CPU seconds (user + system) of this whole process, all threads.
pub fn self_cpu() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

/// (total, idle) jiffies of the machine and of each CPU from /proc/stat.
pub fn machine() -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if let Ok(s) = fs::read_to_string("/proc/stat") {
        for l in s.lines().take_while(|l| l.starts_with("cpu")) {
            let v: Vec<u64> = l.split_whitespace().skip(1).take(8).filter_map(|x| x.parse().ok()).collect();
            if v.len() >= 5 {
                out.push((v.iter().sum(), v[3] + v[4]));
            }
        }
    }
    out
}

/// Busy percentages between two [`machine`] samples: whole machine (100 = one CPU) and per CPU.
pub fn busy(a: &[(u64, u64)], b: &[(u64, u64)]) -> (Option<f64>, Vec<Option<f64>>) {
    let pct = |x: &(u64, u64), y: &(u64, u64)| {
        let t = y.0.saturating_sub(x.0);
        (t > 0).then(|| 100.0 * (1.0 - y.1.saturating_sub(x.1) as f64 / t as f64))
    };
    let ncpu = a.len().saturating_sub(1) as f64;
    let all = match (a.first(), b.first()) {
        (Some(x), Some(y)) => pct(x, y).map(|p| p * ncpu),
        _ => None,
    };
    let per = a.iter().skip(1).zip(b.iter().skip(1)).map(|(x, y)| pct(x, y)).collect();
    (all, per)
}
