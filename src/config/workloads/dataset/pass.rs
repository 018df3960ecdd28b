//! The index pass: one streaming read of a dataset file that checks every record
//! and keeps, per record, only where it is and how long it is.
//!
//! A dataset can be gigabytes (ShareGPT's is 650 MB), so nothing holds the file's
//! text: JSONL is read line by line, and a ShareGPT file (one JSON array) is
//! scanned byte by byte for its elements' boundaries, each element parsed alone
//! and dropped. What stays is a `Record` (24 bytes) per record; requests read
//! their record back by offset. The same pass hashes the file's bytes, so the
//! workload hash follows the contents, not the path.

use std::io::{BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::index::{self, At, Bad, Counter, DatasetIndex};
use super::sharegpt;
use super::DatasetFormat;

/// Reads `path` once, checking and measuring every record with `count`.
pub fn index(path: &Path, format: DatasetFormat, count: Counter) -> Result<DatasetIndex, Vec<Bad>> {
    let file = std::fs::File::open(path).map_err(|e| {
        vec![Bad::new(
            At::File,
            format!(
                "cannot read the dataset: {e}; `file:` is a path relative to the config folder \
                 (the folder of workloads.yaml)"
            ),
        )]
    })?;
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Hashing {
            inner: file,
            hasher: Sha256::new(),
        },
    );
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut skipped = 0;
    match format {
        DatasetFormat::Jsonl => index::jsonl(&mut reader, count, &mut out, &mut bad),
        DatasetFormat::ShareGpt => {
            skipped = sharegpt::scan(&mut reader, count, &mut out, &mut bad);
        }
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    // Whatever the parse left unread still counts for the hash.
    if let Err(e) = std::io::copy(&mut reader, &mut std::io::sink()) {
        return Err(vec![Bad::new(
            At::File,
            format!("cannot read the dataset: {e}"),
        )]);
    }
    let sha256 = reader
        .into_inner()
        .hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(DatasetIndex {
        records: out,
        sha256,
        skipped,
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dataset::Record;

    fn words(text: &str) -> u32 {
        text.split_whitespace().count() as u32
    }

    fn run(text: &str, format: DatasetFormat) -> Result<DatasetIndex, Vec<Bad>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        std::fs::write(&path, text).unwrap();
        index(&path, format, &mut words)
    }

    #[test]
    fn jsonl_records_point_at_their_lines() {
        let text = "{\"prompt\": \"a b c\", \"output_tokens\": 4}\r\n\n{\"prompt\": \"d\"}\n";
        let index = run(text, DatasetFormat::Jsonl).unwrap();
        assert_eq!(
            index.records,
            vec![
                Record {
                    offset: 0,
                    len: 39,
                    input_tokens: 3,
                    output_tokens: 4
                },
                Record {
                    offset: 42,
                    len: 15,
                    input_tokens: 1,
                    output_tokens: 0
                },
            ]
        );
        assert_eq!(&text[42..42 + 15], "{\"prompt\": \"d\"}");
        assert_eq!(index.sha256, crate::hash::sha256_hex(text.as_bytes()));
    }

    #[test]
    fn jsonl_problems_name_their_lines() {
        let text = "{\"prompt\": \"ok\"}\nnot json\n{\"text\": \"x\"}\n{\"prompt\": 3}\n";
        let bad = run(text, DatasetFormat::Jsonl).unwrap_err();
        let lines: Vec<At> = bad.iter().map(|b| b.at).collect();
        assert_eq!(lines, vec![At::Line(2), At::Line(3), At::Line(4)]);
        assert!(bad[1].reason.contains("prompt"), "{bad:?}");
        assert!(bad[2].reason.contains("invalid type"), "{bad:?}");
    }

    #[test]
    fn sharegpt_elements_are_found_with_strings_holding_brackets() {
        let first = r#"{"id": "x]}", "conversations": [{"from": "human", "value": "a \"}] b"}, {"from": "gpt", "value": "c d e"}]}"#;
        let second = r#"{"conversations": [{"from": "human", "value": "q"}]}"#;
        let text = format!("\u{feff}[ {first},\n{{\"conversations\": []}} , {second} ]\n");
        let index = run(&text, DatasetFormat::ShareGpt).unwrap();
        assert_eq!(index.records.len(), 2);
        assert_eq!(index.skipped, 1);
        let r = index.records[0];
        assert_eq!(
            &text.as_bytes()[r.offset as usize..][..r.len as usize],
            first.as_bytes()
        );
        assert_eq!((r.input_tokens, r.output_tokens), (3, 3));
        let r = index.records[1];
        assert_eq!(
            &text.as_bytes()[r.offset as usize..][..r.len as usize],
            second.as_bytes()
        );
        assert_eq!(r.output_tokens, 0);
    }

    #[test]
    fn sharegpt_problems_name_their_records() {
        let no_human = r#"{"conversations": [{"from": "gpt", "value": "x"}]}"#;
        let ok = r#"{"conversations": [{"from": "human", "value": "x"}]}"#;
        let bad = run(
            &format!("[{ok}, {no_human}, {ok}]"),
            DatasetFormat::ShareGpt,
        )
        .unwrap_err();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].at, At::Record(2));
        assert!(bad[0].reason.contains("no human turn"));
        let cut = run(&format!("[{ok}, {ok}"), DatasetFormat::ShareGpt).unwrap_err();
        assert_eq!(cut[0].at, At::Record(3));
        assert!(cut[0].reason.contains("cut short"), "{cut:?}");
        let object = run(ok, DatasetFormat::ShareGpt).unwrap_err();
        assert_eq!(object[0].at, At::File);
        assert!(object[0].reason.contains("not a JSON array"));
        let scalar = run("[1]", DatasetFormat::ShareGpt).unwrap_err();
        assert_eq!(scalar[0].at, At::Record(1));
        assert!(run("[]", DatasetFormat::ShareGpt)
            .unwrap()
            .records
            .is_empty());
    }
}
