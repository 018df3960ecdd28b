//! Trace files: both layouts read into offsets from the first row, and every bad
//! line is reported with its number and what is wrong.

use super::*;

#[test]
fn mooncake_lines_give_offsets_from_the_first_row() {
    let text =
        "{\"timestamp\": 1000, \"input_length\": 12, \"output_length\": 3, \"hash_ids\": [1]}\n\
                \n\
                {\"timestamp\": 1250.5, \"input_length\": 7, \"output_length\": 9}\n";
    let rows = parse(text, TraceFormat::Jsonl).unwrap();
    assert_eq!(
        rows,
        vec![
            TraceRequest {
                offset_ms: 0.0,
                input_tokens: 12,
                output_tokens: 3
            },
            TraceRequest {
                offset_ms: 250.5,
                input_tokens: 7,
                output_tokens: 9
            },
        ]
    );
}

#[test]
fn azure_csv_reads_its_three_columns_by_name() {
    let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                2023-11-16 18:15:46.6805900,374,44\n\
                2023-11-16 18:15:50.9951690,396,109\n";
    let rows = parse(text, TraceFormat::Csv).unwrap();
    assert_eq!(rows.len(), 2);
    assert!((rows[1].offset_ms - 4314.579).abs() < 1e-3, "{rows:?}");
    assert_eq!((rows[1].input_tokens, rows[1].output_tokens), (396, 109));
    let reordered = "GeneratedTokens,TIMESTAMP,ContextTokens\n5,0.5,8\n";
    assert_eq!(
        parse(reordered, TraceFormat::Csv).unwrap()[0],
        TraceRequest {
            offset_ms: 0.0,
            input_tokens: 8,
            output_tokens: 5
        }
    );
}

#[test]
fn every_bad_line_is_reported_with_its_number_and_reason() {
    let text = "{\"timestamp\": 10, \"input_length\": 5, \"output_length\": 2}\n\
                {\"timestamp\": 5, \"input_length\": 5, \"output_length\": 2}\n\
                {\"timestamp\": 20, \"input_length\": 5}\n\
                {\"timestamp\": 30, \"input_length\": 5, \"output_length\": 0}\n\
                not json\n";
    let bad = parse(text, TraceFormat::Jsonl).unwrap_err();
    let lines: Vec<usize> = bad.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![2, 3, 4, 5]);
    assert!(bad[0].1.contains("earlier than the row before"), "{bad:?}");
    assert!(bad[1].1.contains("output_length"), "{bad:?}");
    assert!(bad[2].1.contains("at least 1"), "{bad:?}");
    let csv = parse("TIMESTAMP,Tokens\n1,2\n", TraceFormat::Csv).unwrap_err();
    assert_eq!(csv[0].0, 1);
    assert!(csv[0].1.contains("ContextTokens"), "{csv:?}");
    assert!(parse("\n", TraceFormat::Jsonl).unwrap_err()[0]
        .1
        .contains("no requests"));
}

#[test]
fn an_unreadable_line_is_reported_and_the_rest_still_read() {
    let lines = vec![
        Ok("{\"timestamp\": 0, \"input_length\": 4, \"output_length\": 2}"),
        Err("cannot read this line (invalid UTF-8)".to_string()),
        Ok("{\"timestamp\": 1, \"input_length\": 4, \"output_length\": 0}"),
    ];
    let bad = parse_lines(lines.into_iter(), TraceFormat::Jsonl).unwrap_err();
    assert_eq!(bad.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![2, 3]);
    assert!(bad[0].1.contains("UTF-8"), "{bad:?}");
}
