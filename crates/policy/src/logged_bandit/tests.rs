use super::parse::{parse_number, parse_vw_cb_line, FeatureIndex, Row};
use super::*;

fn options(actions: Option<usize>) -> LearnOptions {
    LearnOptions {
        actions,
        ..LearnOptions::default()
    }
}

fn learn_text(
    text: &str,
    format: LogFormat,
    actions: Option<usize>,
) -> Result<LearnReport, LogError> {
    learn(text.as_bytes(), format, &options(actions)).map(|(r, _)| r)
}

/// The error's line and message.
fn line_error(r: Result<LearnReport, LogError>) -> (u64, String) {
    match r {
        Err(LogError::Line { line, reason }) => (line, reason),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn numbers_parse_exactly() {
    for s in [
        "0",
        "-1",
        "0.1",
        "-2.811",
        "+3.5",
        "123456.789",
        "1e-3",
        "2.5E2",
        "007",
    ] {
        assert_eq!(parse_number(s.as_bytes()), s.parse::<f64>().ok(), "{s}");
    }
    assert_eq!(
        parse_number(b"0.30000000000000004"),
        Some(0.30000000000000004)
    );
    for bad in ["", "-", ".", "1.2.3", "x", "1,5", "inf", "NaN"] {
        assert_eq!(parse_number(bad.as_bytes()), None, "{bad}");
    }
}

#[test]
fn a_cb_line_gives_its_label_and_features() {
    let mut index = FeatureIndex::new(100);
    let mut row = Row::new();
    row.clear(index.len());
    let label = parse_vw_cb_line(
        b"3:-1:0.25 'tag |s a:0.5 b:-2 |t:2 c flag",
        1,
        4,
        &mut index,
        &mut row,
    )
    .unwrap()
    .unwrap();
    assert_eq!(label.action, 2);
    assert_eq!(label.cost, -1.0);
    assert_eq!(label.probability, 0.25);
    assert_eq!(index.names(), ["constant", "s^a", "s^b", "t^c", "t^flag"]);
    assert_eq!(row.x, vec![1.0, 0.5, -2.0, 2.0, 2.0]);
    // Unlabelled rows are predicted, not learnt.
    row.clear(index.len());
    let none = parse_vw_cb_line(b"| a:1", 2, 4, &mut index, &mut row).unwrap();
    assert!(none.is_none());
}

#[test]
fn bad_cb_lines_are_rejected_with_line_and_reason() {
    let good = "1:0:0.5 |s a:1\n";
    let cases = [
        ("1:0 |s a:1", "not three fields"),
        ("x:0:0.5 |s a:1", "action is not a whole number"),
        ("1:zero:0.5 |s a:1", "cost is not a finite number"),
        ("1:0:0 |s a:1", "probability must be in (0, 1]"),
        ("1:0:1.5 |s a:1", "probability must be in (0, 1]"),
        ("5:0:0.5 |s a:1", "action 5 is not in 1..=4"),
        ("0:0:0.5 |s a:1", "action 0 is not in 1..=4"),
        ("1:0:0.5 s a:1", "no `|`"),
        (
            "1:0:0.5 |s a:one",
            "feature `a:one`: its value is not a number",
        ),
        ("1:0:0.5 |s :3", "has no name"),
        ("1:0:0.5 2:0:0.5 |s a:1", "second label"),
        ("1:0:0.5 |s:x a:1", "its scale is not a number"),
    ];
    for (bad, why) in cases {
        let text = format!("{good}{good}{bad}\n{good}");
        let (line, reason) = line_error(learn_text(&text, LogFormat::VwCb, Some(4)));
        assert_eq!(line, 3, "{bad}: {reason}");
        assert!(reason.contains(why), "{bad}: `{reason}` lacks `{why}`");
    }
    // The non-ADF format needs the action count.
    assert!(matches!(
        learn_text(good, LogFormat::VwCb, None),
        Err(LogError::Option {
            name: "actions",
            ..
        })
    ));
}

const ADF: &str = "shared |s a:1 b:0.5
|act x
0:-1:0.5 |act y

shared |s a:-1
0:0:0.5 |act x
|act y
";

#[test]
fn adf_examples_are_read_block_by_block() {
    let (r, model) = learn(ADF.as_bytes(), LogFormat::VwCbAdf, &options(None)).unwrap();
    assert_eq!(r.rows, 2);
    assert_eq!(r.labelled, 2);
    assert_eq!(r.actions, 2);
    assert_eq!(model.actions, ["act x", "act y"]);
    assert_eq!(model.features, ["constant", "s^a", "s^b"]);
    // First example: no knowledge, both actions tied: each has probability 1/2.
    // Loss 0.5 * -1 / 0.5 = -1. Second: whatever the policy, the cost is 0.
    assert!(
        (r.average_loss - (-0.5)).abs() < 1e-12,
        "{}",
        r.average_loss
    );
    assert!((r.logged_average_cost - (-0.5)).abs() < 1e-12);
    // The learnt cost of `y` after a cost of -1 is negative for the first context.
    assert_eq!(model.best_action(&[1.0, 1.0, 0.5]), 1);
    // Windows line ends and a missing final blank line change nothing.
    let crlf = ADF.replace('\n', "\r\n");
    let r2 = learn_text(crlf.trim_end(), LogFormat::VwCbAdf, None).unwrap();
    assert_eq!((r2.rows, r2.average_loss), (r.rows, r.average_loss));
}

#[test]
fn bad_adf_examples_are_rejected_with_line_and_reason() {
    let cases = [
        (
            "shared |s a:1\n0:1:0.5 |act x\n0:0:0.5 |act y\n\n",
            3,
            "second labelled action",
        ),
        ("|act x\nshared |s a:1\n\n", 2, "`shared` line after"),
        ("shared |s a:1\n\n", 1, "no action lines"),
        (
            "shared |s a:1\n0:1:2 |act x\n\n",
            2,
            "probability must be in (0, 1]",
        ),
        ("shared |s a:1\n0:1:0.5 act x\n\n", 2, "no `|`"),
    ];
    for (text, at, why) in cases {
        let (line, reason) = line_error(learn_text(text, LogFormat::VwCbAdf, None));
        assert_eq!(line, at, "{text:?}: {reason}");
        assert!(reason.contains(why), "{text:?}: `{reason}` lacks `{why}`");
    }
}

#[test]
fn csv_and_jsonl_rows_and_their_errors() {
    let csv = "action,cost,probability,a,b\n1,-1,0.5,1.0,0.5\n0,0,0.5,-1,0\n";
    let r = learn_text(csv, LogFormat::Csv, Some(2)).unwrap();
    assert_eq!((r.rows, r.features), (2, 3));
    let adf = learn_text(ADF, LogFormat::VwCbAdf, None).unwrap();
    assert_eq!(r.average_loss, adf.average_loss);
    for (bad, why) in [
        ("2,0,0.5,1,1", "field `action` = `2`"),
        ("0,0,0.5,1", "missing field `b`"),
        ("0,0,0.5,1,1,1", "more fields than the header's 5"),
        ("0,x,0.5,1,1", "field `cost` = `x`"),
        ("0,0,0,1,1", "field `probability` = `0`"),
        ("0,0,0.5,1,zz", "field `b` = `zz`"),
    ] {
        let text = format!("action,cost,probability,a,b\n0,0,0.5,1,1\n{bad}\n");
        let (line, reason) = line_error(learn_text(&text, LogFormat::Csv, Some(2)));
        assert_eq!(line, 3, "{bad}");
        assert!(reason.contains(why), "{bad}: `{reason}` lacks `{why}`");
    }
    let (line, reason) = line_error(learn_text("a,b\n", LogFormat::Csv, Some(2)));
    assert!(line == 1 && reason.contains("header"), "{reason}");

    let jsonl = r#"{"action":1,"cost":-1,"probability":0.5,"features":[1.0,0.5]}
{"action":0,"cost":0,"probability":0.5,"features":[-1,0]}
"#;
    let j = learn_text(jsonl, LogFormat::Jsonl, Some(2)).unwrap();
    assert_eq!(j.average_loss, r.average_loss);
    for (bad, why) in [
        (
            r#"{"action":2,"cost":0,"probability":0.5,"features":[1,1]}"#,
            "field `action` = 2",
        ),
        (
            r#"{"action":0,"cost":0,"probability":0.5,"features":[1]}"#,
            "has 1 values",
        ),
        (
            r#"{"action":0,"cost":0,"probability":-1,"features":[1,1]}"#,
            "`probability` = -1",
        ),
        (
            r#"{"action":0,"cost":0,"probability":0.5}"#,
            "not a row object",
        ),
    ] {
        let text = format!(
            "{}{bad}\n",
            jsonl.lines().next().unwrap_or_default().to_owned() + "\n"
        );
        let (line, reason) = line_error(learn_text(&text, LogFormat::Jsonl, Some(2)));
        assert_eq!(line, 2, "{bad}");
        assert!(reason.contains(why), "{bad}: `{reason}` lacks `{why}`");
    }
}

/// A seeded log like the benchmark's: `k` actions logged uniformly, reward
/// `Bernoulli(sigmoid(x . theta_a - 1))`, cost `-reward`, in both VW formats.
fn generated_log(rows: usize, k: usize, d: usize, seed: u64) -> (String, String) {
    let mut s = seed;
    let mut uniform = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let gauss =
        |u: &mut dyn FnMut() -> f64| (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos();
    let theta: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..d).map(|_| gauss(&mut uniform)).collect())
        .collect();
    let p = 1.0 / k as f64;
    let (mut cb, mut adf) = (String::new(), String::new());
    for _ in 0..rows {
        let x: Vec<f64> = (0..d)
            .map(|_| (gauss(&mut uniform) * 1000.0).round() / 1000.0)
            .collect();
        let a = ((uniform() * k as f64) as usize).min(k - 1);
        let z: f64 = theta[a].iter().zip(&x).map(|(t, v)| t * v).sum::<f64>() - 1.0;
        let r = u8::from(uniform() < 1.0 / (1.0 + (-z).exp()));
        let feats: Vec<String> = x
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{i}:{v}"))
            .collect();
        let feats = feats.join(" ");
        cb.push_str(&format!("{}:-{r}:{p} |s {feats}\n", a + 1));
        adf.push_str(&format!("shared |s {feats}\n"));
        for j in 0..k {
            if j == a {
                adf.push_str(&format!("0:-{r}:{p} "));
            }
            adf.push_str(&format!("|a {j}\n"));
        }
        adf.push('\n');
    }
    (cb, adf)
}

#[test]
fn the_learnt_policy_beats_the_uniform_logging_policy() {
    let (cb, adf) = generated_log(4_000, 4, 5, 11);
    for cb_type in [CbType::Mtr, CbType::Ips, CbType::Dr] {
        let opts = LearnOptions {
            cb_type,
            actions: Some(4),
            ..LearnOptions::default()
        };
        let (r, model) = learn(cb.as_bytes(), LogFormat::VwCb, &opts).unwrap();
        let (a, _) = learn(adf.as_bytes(), LogFormat::VwCbAdf, &opts).unwrap();
        // Both formats hold the same rows: the same policy and loss.
        assert!(
            (r.average_loss - a.average_loss).abs() < 1e-9,
            "{cb_type:?}: {} vs {}",
            r.average_loss,
            a.average_loss
        );
        assert_eq!(model.coefficients.len(), 4);
        // The uniform logging policy's value is the mean logged cost; the learnt policy
        // (progressively validated) must cost clearly less.
        assert!(
            r.average_loss < 1.3 * r.logged_average_cost,
            "{cb_type:?}: {} vs uniform {}",
            r.average_loss,
            r.logged_average_cost
        );
    }
}

#[test]
fn the_parser_thread_changes_nothing() {
    // More rows than a batch, so that several batches cross between the threads.
    let (cb, adf) = generated_log(3 * super::BATCH_ROWS + 17, 5, 7, 23);
    for cb_type in [CbType::Mtr, CbType::Ips, CbType::Dr] {
        for (text, format) in [(&cb, LogFormat::VwCb), (&adf, LogFormat::VwCbAdf)] {
            let run = |parser_thread| {
                let opts = LearnOptions {
                    cb_type,
                    actions: Some(5),
                    parser_thread,
                    ..LearnOptions::default()
                };
                learn(text.as_bytes(), format, &opts).unwrap()
            };
            let ((r1, m1), (r2, m2)) = (run(false), run(true));
            // Bit for bit: the same rows in the same order through the same arithmetic.
            assert_eq!(r1.average_loss.to_bits(), r2.average_loss.to_bits());
            assert_eq!(
                (r1.rows, r1.labelled, r1.bytes),
                (r2.rows, r2.labelled, r2.bytes)
            );
            assert_eq!(m1.coefficients, m2.coefficients, "{cb_type:?} {format:?}");
            assert_eq!((m1.features, m1.actions), (m2.features, m2.actions));
        }
    }
    // An error deep in the file is the same error, at the same line, either way.
    let mut bad = cb.clone();
    bad.push_str("1:0:0.5 |s 0:one\n");
    let lines = bad.lines().count() as u64;
    for parser_thread in [false, true] {
        let opts = LearnOptions {
            actions: Some(5),
            parser_thread,
            ..LearnOptions::default()
        };
        match learn(bad.as_bytes(), LogFormat::VwCb, &opts) {
            Err(LogError::Line { line, reason }) => {
                assert_eq!(line, lines);
                assert!(reason.contains("not a number"), "{reason}");
            }
            other => panic!("expected a line error, got {other:?}"),
        }
    }
}

#[test]
fn unusual_numbers_in_features_take_the_full_parser() {
    let mut index = FeatureIndex::new(100);
    let mut row = Row::new();
    row.clear(index.len());
    parse_vw_cb_line(
        b"1:0:0.5 |s a:+2.5 b:1e-3 c:-0.30000000000000004 d:x:7 e:.5 f:5.",
        1,
        4,
        &mut index,
        &mut row,
    )
    .unwrap();
    assert_eq!(
        index.names(),
        ["constant", "s^a", "s^b", "s^c", "s^d:x", "s^e", "s^f"]
    );
    assert_eq!(
        row.x,
        vec![1.0, 2.5, 1e-3, -0.30000000000000004, 7.0, 0.5, 5.0]
    );
    for bad in ["a:1.2.3", "a:--1", "a:-", "a:1-2", "a:+-1", "a:1e"] {
        let text = format!("1:0:0.5 |s {bad}");
        row.clear(index.len());
        let e = parse_vw_cb_line(text.as_bytes(), 9, 4, &mut index, &mut row);
        assert!(
            matches!(&e, Err(LogError::Line { line: 9, reason }) if reason.contains("not a number")),
            "{bad}: {e:?}"
        );
    }
}

/// Times learning from the file in `BANDIT_LOG` (`BANDIT_FORMAT` vw-cb or vw-cb-adf,
/// `BANDIT_ONE_THREAD` set for one thread): `cargo test --release -p discount-policy
/// learn_from_a_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn learn_from_a_file() {
    let Ok(path) = std::env::var("BANDIT_LOG") else {
        return;
    };
    let format = match std::env::var("BANDIT_FORMAT").as_deref() {
        Ok("vw-cb") => LogFormat::VwCb,
        _ => LogFormat::VwCbAdf,
    };
    let opts = LearnOptions {
        actions: Some(10),
        parser_thread: std::env::var("BANDIT_ONE_THREAD").is_err(),
        ..LearnOptions::default()
    };
    let file = std::fs::File::open(&path).unwrap();
    let (r, model) = learn(file, format, &opts).unwrap();
    println!(
        "{path}: loss {:?} in {:.3} s; action 1's first coefficients {:?}",
        r.average_loss,
        r.seconds,
        model.coefficients.first().map(|c| &c[..c.len().min(4)])
    );
}
