//! Following one telemetry file: read only what was appended since the
//! [`Cursor`], line by line, across rotation (the path names a new file),
//! truncation (the file got shorter) and a last line still being written
//! (kept for the next read). The cursor is what a restart resumes from: it
//! names the file by device and inode, so a file replaced while nobody
//! watched is read from its start, not from an offset into another file.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::line::{parse_line, Event, FieldMapping, Malformed, MAX_LINE_BYTES};

/// Where reading stopped in which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub dev: u64,
    pub ino: u64,
    /// Bytes consumed: always just after a newline, or inside an over-long
    /// line being skipped.
    pub offset: u64,
    /// Lines consumed (the next line's number is `line_no + 1`).
    pub line_no: u64,
    /// Inside a line longer than [`MAX_LINE_BYTES`], already counted as
    /// malformed: its bytes up to the next newline are dropped.
    pub skipping: bool,
}

/// What the file is like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Following,
    /// The folder does not exist (the service never ran here, or its data
    /// was wiped): a state, not an error.
    MissingFolder,
    MissingFile,
    Unreadable(String),
}

/// What one read found, for the sink.
pub trait Sink {
    fn event(&mut self, line_no: u64, event: Event);
    /// `excerpt`: the start of the line, at most [`EXCERPT_BYTES`].
    fn malformed(&mut self, line_no: u64, reason: Malformed, excerpt: &[u8]);
}

/// Bytes of a bad line handed to [`Sink::malformed`].
pub const EXCERPT_BYTES: usize = 160;

/// One poll's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    pub state: FileState,
    /// Bytes consumed by this poll.
    pub bytes: u64,
    /// Lines consumed by this poll (events, bad lines and empty ones).
    pub lines: u64,
    /// Stopped at the byte budget with more to read.
    pub more: bool,
    /// The file was replaced (rotation) or shortened (truncation) since the
    /// last poll, so reading started again at its beginning.
    pub restarted: bool,
}

/// Follows one path.
pub struct Follower {
    path: PathBuf,
    mapping: FieldMapping,
    cursor: Option<Cursor>,
    /// The file the cursor is in, kept open so that after a rotation the
    /// rest of the old file is still read.
    open: Option<File>,
    buf: Vec<u8>,
}

const READ_CHUNK: usize = 1 << 20;

impl Follower {
    /// Resumes at `cursor` (from the database), or starts at the file's
    /// beginning.
    pub fn new(path: PathBuf, mapping: FieldMapping, cursor: Option<Cursor>) -> Self {
        Self {
            path,
            mapping,
            cursor,
            open: None,
            buf: Vec::new(),
        }
    }

    /// Reads only the last `bytes` of the file at `path` (its first line
    /// there, cut by the start, is skipped): how its newest lines read.
    pub fn from_tail(path: PathBuf, mapping: FieldMapping, bytes: u64) -> std::io::Result<Self> {
        let meta = std::fs::metadata(&path)?;
        let (dev, ino) = identity(&meta);
        let offset = meta.len().saturating_sub(bytes);
        let cursor = Cursor {
            dev,
            ino,
            offset,
            line_no: 0,
            skipping: offset > 0,
        };
        Ok(Self::new(path, mapping, Some(cursor)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor
    }

    /// Reads what was appended, at most about `budget` bytes, into `sink`.
    pub fn poll(&mut self, budget: u64, sink: &mut impl Sink) -> Polled {
        let mut polled = Polled {
            state: FileState::Following,
            bytes: 0,
            lines: 0,
            more: false,
            restarted: false,
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                polled.state = FileState::Unreadable("not a regular file".to_string());
                return polled;
            }
            Err(e) => {
                // Rotated away with nothing in its place yet: finish the old
                // one, keeping it open while the budget leaves some unread.
                self.drain_open(budget, sink, &mut polled);
                if !polled.more {
                    self.open = None;
                }
                polled.state = missing_state(&self.path, &e);
                return polled;
            }
        };
        let (dev, ino) = identity(&meta);
        match self.cursor {
            Some(c) if (c.dev, c.ino) == (dev, ino) => {
                if meta.len() < c.offset {
                    self.restart_at(dev, ino);
                    polled.restarted = true;
                }
            }
            Some(_) => {
                self.drain_open(budget, sink, &mut polled);
                if polled.more {
                    return polled;
                }
                self.restart_at(dev, ino);
                polled.restarted = true;
            }
            None => self.restart_at(dev, ino),
        }
        if self.open.is_none() {
            match File::open(&self.path) {
                Ok(f) => {
                    // Opened after the stat: make sure it is the same file.
                    let same = f.metadata().ok().map(|m| identity(&m)) == Some((dev, ino));
                    if !same {
                        return polled;
                    }
                    self.open = Some(f);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    polled.state = missing_state(&self.path, &e);
                    return polled;
                }
                Err(e) => {
                    polled.state = FileState::Unreadable(e.to_string());
                    return polled;
                }
            }
        }
        if let Err(e) = self.read_open(budget.saturating_sub(polled.bytes), sink, &mut polled) {
            self.open = None;
            polled.state = FileState::Unreadable(e.to_string());
        }
        polled
    }

    fn restart_at(&mut self, dev: u64, ino: u64) {
        self.cursor = Some(Cursor {
            dev,
            ino,
            ..Cursor::default()
        });
        self.open = None;
    }

    /// Reads the rest of the file still open (renamed away by a rotation).
    fn drain_open(&mut self, budget: u64, sink: &mut impl Sink, polled: &mut Polled) {
        if self.open.is_some() && self.read_open(budget, sink, polled).is_err() {
            self.open = None;
        }
    }

    /// Reads complete lines of the open file from the cursor to its end or
    /// the budget.
    fn read_open(
        &mut self,
        budget: u64,
        sink: &mut impl Sink,
        polled: &mut Polled,
    ) -> std::io::Result<()> {
        let (Some(file), Some(cursor)) = (self.open.as_mut(), self.cursor.as_mut()) else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(cursor.offset))?;
        self.buf.clear();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut consumed_total = 0u64;
        loop {
            if consumed_total >= budget {
                polled.more = true;
                break;
            }
            let filled = self.buf.len();
            self.buf.resize(filled + READ_CHUNK, 0);
            let n = match file.read(&mut self.buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            };
            self.buf.truncate(filled + n);
            if n == 0 {
                break;
            }
            let used = lines(
                &self.buf,
                &self.mapping,
                now_ms,
                cursor,
                sink,
                &mut polled.lines,
            );
            self.buf.drain(..used);
            consumed_total += used as u64;
        }
        cursor.offset += consumed_total;
        polled.bytes += consumed_total;
        Ok(())
    }
}

/// Hands each complete line of `buf` to the sink; returns the bytes
/// consumed. A line over the limit with no end in sight is counted once
/// and skipped to its newline.
fn lines(
    buf: &[u8],
    mapping: &FieldMapping,
    now_ms: i64,
    cursor: &mut Cursor,
    sink: &mut impl Sink,
    line_count: &mut u64,
) -> usize {
    let mut start = 0;
    while let Some(rel) = memchr::memchr(b'\n', &buf[start..]) {
        let line = &buf[start..start + rel];
        start += rel + 1;
        cursor.line_no += 1;
        *line_count += 1;
        if cursor.skipping {
            cursor.skipping = false;
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line, mapping, now_ms) {
            Ok(event) => sink.event(cursor.line_no, event),
            Err(reason) => sink.malformed(cursor.line_no, reason, excerpt(line)),
        }
    }
    let rest = buf.len() - start;
    if cursor.skipping {
        return buf.len();
    }
    if rest > MAX_LINE_BYTES {
        if !cursor.skipping {
            sink.malformed(
                cursor.line_no + 1,
                Malformed::TooLong {
                    len: rest,
                    max: MAX_LINE_BYTES,
                },
                excerpt(&buf[start..]),
            );
            cursor.skipping = true;
        }
        return buf.len();
    }
    start
}

fn excerpt(line: &[u8]) -> &[u8] {
    &line[..line.len().min(EXCERPT_BYTES)]
}

fn missing_state(path: &Path, e: &std::io::Error) -> FileState {
    if e.kind() != ErrorKind::NotFound {
        return FileState::Unreadable(e.to_string());
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => FileState::MissingFolder,
        _ => FileState::MissingFile,
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests;
