//! Every data- or parameter-caused failure is a typed error, never a panic.

use vorn::data::MatrixView;
use vorn::{fit, Error, Init, KMeansModel, KMeansParams, Metric};

fn fit_err(x: &[f32], n: usize, d: usize, p: KMeansParams) -> Error {
    let v = MatrixView::new(x, n, d).unwrap();
    fit(v, &p).unwrap_err()
}

#[test]
fn shape_errors() {
    assert!(matches!(MatrixView::new(&[], 0, 3), Err(Error::EmptyInput)));
    assert!(matches!(
        MatrixView::new(&[], 3, 0),
        Err(Error::ZeroDimension)
    ));
    assert!(matches!(
        MatrixView::new(&[1.0; 5], 2, 3),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn data_errors_name_the_row() {
    let mut x = vec![1f32; 30];
    x[17] = f32::NAN;
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2)),
        Error::NonFinite { row: 5, col: 2, .. }
    ));
    x[17] = f32::NEG_INFINITY;
    let e = fit_err(&x, 10, 3, KMeansParams::new(2));
    assert!(e.to_string().contains("row 5"), "{e}");
    let mut x = vec![1f32; 30];
    x[9] = 1e30;
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2)),
        Error::Overflow { row: 3, .. }
    ));
    let mut x = vec![1f32; 30];
    x[3..6].fill(0.0);
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).metric(Metric::Cosine)),
        Error::ZeroNorm { row: 1 }
    ));
}

#[test]
fn parameter_errors() {
    let x = vec![1f32; 30];
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(0)),
        Error::InvalidParameter {
            name: "n_clusters",
            ..
        }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(11)),
        Error::TooManyClusters { k: 11, n: 10 }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).n_init(0)),
        Error::InvalidParameter { name: "n_init", .. }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).max_iter(0)),
        Error::InvalidParameter {
            name: "max_iter",
            ..
        }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).tol(f64::NAN)),
        Error::InvalidParameter { name: "tol", .. }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).tol(-1.0)),
        Error::InvalidParameter { name: "tol", .. }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).n_threads(Some(0))),
        Error::InvalidParameter {
            name: "n_threads",
            ..
        }
    ));
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).sample_size(Some(0))),
        Error::InvalidParameter { .. }
    ));
    assert!(matches!(
        fit_err(
            &x,
            10,
            3,
            KMeansParams::new(2).init(Init::Given(vec![0.0; 5]))
        ),
        Error::InvalidParameter { name: "init", .. }
    ));
    assert!(matches!(
        fit_err(
            &x,
            10,
            3,
            KMeansParams::new(2).init(Init::Given(vec![0.0; 4]))
        ),
        Error::InvalidParameter { name: "init", .. }
    ));
    let mut g = vec![0.0; 6];
    g[1] = f32::NAN;
    assert!(matches!(
        fit_err(&x, 10, 3, KMeansParams::new(2).init(Init::Given(g))),
        Error::InvalidParameter { name: "init", .. }
    ));
    assert!(matches!(
        fit_err(
            &x,
            10,
            3,
            KMeansParams::new(2)
                .metric(Metric::Cosine)
                .init(Init::Given(vec![0.0; 6]))
        ),
        Error::InvalidParameter { name: "init", .. }
    ));
    assert!("manhattan".parse::<Metric>().is_err());
    assert!("bogus".parse::<vorn::Algorithm>().is_err());
}

#[test]
fn predict_errors() {
    let x: Vec<f32> = (0..40).map(|i| i as f32).collect();
    let m = fit(MatrixView::new(&x, 10, 4).unwrap(), &KMeansParams::new(3)).unwrap();
    let y = vec![0f32; 15];
    assert!(matches!(
        m.predict(MatrixView::new(&y, 5, 3).unwrap()),
        Err(Error::DimensionMismatch {
            expected: 4,
            got: 3
        })
    ));
    assert!(matches!(
        m.transform(MatrixView::new(&y, 5, 3).unwrap()),
        Err(Error::DimensionMismatch { .. })
    ));
    let mut y = vec![0f32; 8];
    y[6] = f32::NAN;
    assert!(matches!(
        m.predict(MatrixView::new(&y, 2, 4).unwrap()),
        Err(Error::NonFinite { row: 1, .. })
    ));
    assert!(KMeansModel::from_centroids(vec![0.0; 5], 2, 3, Metric::L2).is_err());
    assert!(KMeansModel::from_centroids(vec![f32::NAN; 6], 2, 3, Metric::L2).is_err());
    assert!(KMeansModel::from_centroids(vec![0.0; 6], 2, 3, Metric::Cosine).is_err());
}

#[test]
fn cancellation_is_an_error() {
    struct Stop;
    impl vorn::Monitor for Stop {
        fn cancelled(&self) -> bool {
            true
        }
    }
    let x: Vec<f32> = (0..400).map(|i| (i % 17) as f32).collect();
    let r = vorn::fit_with(
        MatrixView::new(&x, 100, 4).unwrap(),
        &KMeansParams::new(3),
        &Stop,
    );
    assert!(matches!(r, Err(Error::Interrupted)));
    // Also when `auto` makes two runs side by side (2²² ≤ n·d·k ≤ 2²⁷), cancelled in the
    // middle: the fit stops with the error, whichever run sees it first.
    struct Later(std::sync::atomic::AtomicUsize);
    impl vorn::Monitor for Later {
        fn cancelled(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::Relaxed) >= 3
        }
        fn iteration(&self, _: &vorn::kmeans::IterStats) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    // Gaussian noise: each run takes 20+ iterations, so the run that reports the third one
    // polls again and the error cannot be missed. (A lattice of values here converged in two
    // iterations per run; whether any poll followed the third report then depended on how
    // the runs interleaved, and the test failed in one CI run out of several.)
    let mut rng = vorn::rng::Rng::new(5);
    let x: Vec<f32> = (0..20_000 * 16).map(|_| rng.normal() as f32).collect();
    let p = KMeansParams::new(16).n_threads(Some(2));
    assert_eq!(p.runs(20_000, 16), 2);
    let mon = Later(0.into());
    let r = vorn::fit_with(MatrixView::new(&x, 20_000, 16).unwrap(), &p, &mon);
    assert!(matches!(r, Err(Error::Interrupted)));
}
