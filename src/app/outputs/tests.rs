//! Saved chart data is used only while it still describes the results folder.

use super::*;

/// Saved chart data reads back exactly, and only while it describes the folder:
/// the same run, inputs of the sizes it recorded (deleted ones excepted), its
/// version. Data that would not survive JSON is not saved.
#[test]
fn chart_data_is_used_only_while_current() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (_, series) = crate::report::tests::fixture();
    let path = write_chart_data(dir, "run-1", &series).unwrap().unwrap();
    assert_eq!(path, dir.join(CHART_DATA));
    assert_eq!(read_chart_data(dir, "run-1"), Some(series.clone()));
    assert_eq!(read_chart_data(dir, "run-2"), None, "another run's");
    // Rows that appeared since.
    fs::write(dir.join(REQUESTS), "{}\n").unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), None);
    write_chart_data(dir, "run-1", &series).unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), Some(series.clone()));
    // Rows that changed, then rows deleted to save space.
    fs::write(dir.join(REQUESTS), "{}\n{}\n").unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), None);
    fs::remove_file(dir.join(REQUESTS)).unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), Some(series.clone()));
    // Telemetry that appeared since.
    fs::write(dir.join(TELEMETRY), "").unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), None);
    // Another version's layout.
    write_chart_data(dir, "run-1", &series).unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), Some(series.clone()));
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\"version\":1,"), "{text}");
    fs::write(&path, text.replacen("\"version\":1", "\"version\":2", 1)).unwrap();
    assert_eq!(read_chart_data(dir, "run-1"), None);
    // A NaN would come back as null: nothing is saved, and nothing stale stays.
    let mut odd = series.clone();
    odd.scenarios[0].ttft_cdf[0].0 = f64::NAN;
    assert_eq!(write_chart_data(dir, "run-1", &odd).unwrap(), None);
    assert!(!path.exists());
}
