//! The instrumenter on real plugins: the fixture perf loops compute the same results metered by
//! the instrumenter as by wasmi, and the two fuel counts agree within ±25%.

use crate::raw_wasmi::fuel_both_ways;

#[test]
fn perf_loops_count_about_the_same_fuel_as_wasmi() {
    for (name, wasmi, meter) in fuel_both_ways() {
        let ratio = meter as f64 / wasmi as f64;
        assert!(
            (0.75..=1.25).contains(&ratio),
            "{name}: {meter} against wasmi's {wasmi} ({ratio:.2})"
        );
    }
}
