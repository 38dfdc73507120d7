//! Faults the tests and the benchmark cause in a running Worker's local services.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The Worker's local D1 database: its SQLite file in the state folder.
pub fn d1_file(state: &Path) -> PathBuf {
    let dir = state.join("v3/d1/miniflare-D1DatabaseObject");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sqlite") && p.file_stem().is_some_and(|s| s != "metadata"))
        .unwrap_or_else(|| panic!("no D1 database in {}", dir.display()))
}

/// A local D1 outage: an exclusive lock on the database's SQLite file in the state folder,
/// held by `python3` until [`D1Outage::end`]. Writes fail at once with `SQLITE_BUSY`; reads
/// still work (the file is in WAL mode).
#[allow(missing_debug_implementations)] // a child process
pub struct D1Outage {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl D1Outage {
    const LOCK: &str = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n\
        db.execute('BEGIN EXCLUSIVE')\n\
        print('locked', flush=True)\n\
        sys.stdin.read()\n\
        db.execute('ROLLBACK')\n";

    /// Locks D1 until [`D1Outage::end`] (or until dropped).
    pub fn begin(state: &Path) -> Self {
        let file = d1_file(state);
        let mut child = Command::new("python3")
            .args(["-c", Self::LOCK])
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "locked", "D1 not locked");
        let stdin = child.stdin.take();
        Self { child, stdin }
    }

    /// Releases the lock.
    pub fn end(mut self) {
        let mut stdin = self.stdin.take().unwrap();
        let _ = stdin.flush();
        drop(stdin);
        assert!(self.child.wait().unwrap().success(), "D1 lock not released cleanly");
    }
}

impl Drop for D1Outage {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
