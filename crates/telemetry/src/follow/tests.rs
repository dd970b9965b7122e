use std::io::Write;

use super::*;
use crate::aggregate::Batch;

fn line(i: u64) -> String {
    format!(
        "{{\"ts\":{},\"event\":\"call\",\"service\":\"aidb\"}}\n",
        1_796_032_800 + i
    )
}

fn append(path: &Path, text: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text).unwrap();
}

fn poll(f: &mut Follower) -> (Batch, Polled) {
    let mut batch = Batch::default();
    let polled = f.poll(u64::MAX, &mut batch);
    (batch, polled)
}

#[test]
fn only_appended_lines_are_read_and_a_partial_line_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let mut f = Follower::new(path.clone(), FieldMapping::default(), None);
    assert_eq!(poll(&mut f).1.state, FileState::MissingFile);
    append(&path, (0..3).map(line).collect::<String>().as_bytes());
    let partial = line(3);
    append(&path, &partial.as_bytes()[..10]);
    let (b, p) = poll(&mut f);
    assert_eq!((b.events, b.malformed, p.lines), (3, 0, 3));
    assert_eq!(f.cursor().unwrap().offset, 3 * line(0).len() as u64);
    assert_eq!(poll(&mut f).0.events, 0);
    append(&path, &partial.as_bytes()[10..]);
    let (b, _) = poll(&mut f);
    assert_eq!((b.events, b.malformed), (1, 0));
    assert_eq!(b.recent.back().map(|e| e.line_no), Some(4));
}

#[test]
fn a_missing_folder_is_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Follower::new(
        dir.path().join("gone/a.jsonl"),
        FieldMapping::default(),
        None,
    );
    assert_eq!(poll(&mut f).1.state, FileState::MissingFolder);
}

#[test]
fn rotation_reads_the_old_files_rest_then_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, line(0).as_bytes());
    let mut f = Follower::new(path.clone(), FieldMapping::default(), None);
    assert_eq!(poll(&mut f).0.events, 1);
    // The writer adds a line, then the file is rotated and a new one begun.
    append(&path, line(1).as_bytes());
    std::fs::rename(&path, dir.path().join("a.jsonl.1")).unwrap();
    append(&path, (2..5).map(line).collect::<String>().as_bytes());
    let (b, p) = poll(&mut f);
    assert!(p.restarted);
    assert_eq!(b.events, 4);
    assert_eq!(
        f.cursor().map(|c| (c.offset, c.line_no)),
        Some((3 * line(0).len() as u64, 3))
    );
}

#[test]
fn a_file_rotated_away_is_read_to_its_end_across_polls_of_a_small_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, line(0).as_bytes());
    let mut f = Follower::new(path.clone(), FieldMapping::default(), None);
    assert_eq!(poll(&mut f).0.events, 1);
    // More than one read chunk written, then rotated with no new file yet.
    let lines = 40_000;
    append(&path, (1..=lines).map(line).collect::<String>().as_bytes());
    assert!(std::fs::metadata(&path).unwrap().len() > READ_CHUNK as u64);
    std::fs::rename(&path, dir.path().join("a.jsonl.1")).unwrap();
    let mut events = 0;
    for _ in 0..100 {
        let mut batch = Batch::default();
        let polled = f.poll(1, &mut batch);
        events += batch.events;
        if !polled.more {
            assert_eq!(polled.state, FileState::MissingFile);
            break;
        }
    }
    assert_eq!(events, lines);
}

#[test]
fn truncation_starts_again_at_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, (0..4).map(line).collect::<String>().as_bytes());
    let mut f = Follower::new(path.clone(), FieldMapping::default(), None);
    assert_eq!(poll(&mut f).0.events, 4);
    std::fs::write(&path, line(9)).unwrap();
    let (b, p) = poll(&mut f);
    assert!(p.restarted);
    assert_eq!((b.events, f.cursor().map(|c| c.line_no)), (1, Some(1)));
}

#[test]
fn a_cursor_resumes_without_counting_twice_and_a_replaced_file_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, (0..3).map(line).collect::<String>().as_bytes());
    let mut first = Follower::new(path.clone(), FieldMapping::default(), None);
    assert_eq!(poll(&mut first).0.events, 3);
    let saved = first.cursor();
    append(&path, line(3).as_bytes());
    let mut second = Follower::new(path.clone(), FieldMapping::default(), saved);
    assert_eq!(poll(&mut second).0.events, 1);
    // Replaced while nobody watched: another inode, read from its start.
    let saved = second.cursor();
    std::fs::remove_file(&path).unwrap();
    let keep = dir.path().join("keep");
    append(&keep, b"");
    append(&path, (0..6).map(line).collect::<String>().as_bytes());
    let mut third = Follower::new(path, FieldMapping::default(), saved);
    assert_eq!(poll(&mut third).0.events, 6);
}

#[test]
fn every_kind_of_bad_line_is_counted_with_its_line_number_and_never_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, line(0).as_bytes());
    append(&path, b"not json\n");
    append(&path, b"{\"event\":\"no time\"}\n");
    append(&path, b"\x00\xff\xfe binary\n");
    append(&path, b"\n   \n");
    let huge = vec![b'x'; 10 * 1024 * 1024];
    append(&path, &huge);
    append(&path, b"\n");
    append(&path, line(1).as_bytes());
    let mut f = Follower::new(path, FieldMapping::default(), None);
    let mut batch = Batch::default();
    // A small budget: the huge line spans many polls.
    let mut polls = 0;
    loop {
        polls += 1;
        if !f.poll(3 * 1024 * 1024, &mut batch).more {
            break;
        }
    }
    assert!(polls > 3, "{polls}");
    assert_eq!((batch.events, batch.malformed), (2, 4));
    let lines: Vec<(u64, &str)> = batch
        .examples
        .iter()
        .map(|b| (b.line_no, b.reason.split(' ').next().unwrap_or_default()))
        .collect();
    assert_eq!(lines, [(2, "not"), (3, "no"), (4, "not"), (7, "longer")]);
    assert_eq!(batch.recent.back().map(|e| e.line_no), Some(8));
    assert!(batch
        .examples
        .iter()
        .all(|b| b.excerpt.len() <= 3 * EXCERPT_BYTES));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// However the writer splits its writes and whenever the follower
    /// polls, every complete line is read exactly once.
    #[test]
    fn any_split_of_the_writes_reads_each_line_once(
        kinds in proptest::collection::vec(0u8..4, 1..60),
        cuts in proptest::collection::vec(1usize..200, 1..30),
    ) {
        let mut text = Vec::new();
        let (mut good, mut bad) = (0u64, 0u64);
        for (i, k) in kinds.iter().enumerate() {
            match k {
                0 | 1 => { text.extend_from_slice(line(i as u64).as_bytes()); good += 1; }
                2 => { text.extend_from_slice(b"{\"broken\n"); bad += 1; }
                _ => text.extend_from_slice(b"\n"),
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, b"");
        let mut f = Follower::new(path.clone(), FieldMapping::default(), None);
        let mut batch = Batch::default();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= text.len() { break; }
            let end = (at + cut).min(text.len());
            append(&path, &text[at..end]);
            at = end;
            f.poll(u64::MAX, &mut batch);
            // A restart in the middle resumes from the cursor.
            if cut % 7 == 0 {
                f = Follower::new(path.clone(), FieldMapping::default(), f.cursor());
            }
        }
        f.poll(u64::MAX, &mut batch);
        proptest::prop_assert_eq!((batch.events, batch.malformed), (good, bad));
        proptest::prop_assert_eq!(f.cursor().map(|c| c.line_no), Some(kinds.len() as u64));
    }
}

#[test]
fn a_tail_skips_the_line_it_cuts_and_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, (0..10).map(line).collect::<String>().as_bytes());
    let tail = line(0).len() as u64 * 5 / 2;
    let mut f = Follower::from_tail(path, FieldMapping::default(), tail).unwrap();
    let (b, _) = poll(&mut f);
    assert_eq!((b.events, b.malformed), (2, 0));
}
