//! Disclosure control of aggregate tables (統計の秘匿): what an analyst may be shown of a
//! count. Pure: the store hands in a cell's true count and the sum of its records' keys; this
//! decides the published value, or that the cell is not published at all.
//!
//! The method is the cell-key method (ABS TableBuilder, ONS 2021 census) with a threshold:
//!
//! - every unit record (a person, a consultation, a referral, …) carries a random key in
//!   `0..KEY_MODULUS`, drawn once when the row is written (`stat_key`, never shown);
//! - a cell's key is the sum of its distinct units' keys modulo [`KEY_MODULUS`], so the same
//!   set of records always gives the same cell key, whichever query, filter or grouping
//!   reached it;
//! - the noise is read off a fixed table ([`NOISE_TABLE`]) at the cell key: a discretised,
//!   two-sided geometric (Laplace) distribution on `-MAX_NOISE..=MAX_NOISE`, whose adjacent
//!   probabilities differ by at most [`max_odds_ratio`] (about 2);
//! - a cell is published only if its perturbed count is at least the threshold `k` (default
//!   [`DEFAULT_THRESHOLD`]); an empty cell is never listed, so "not listed" means "fewer
//!   than k, or none" and says nothing more. With `MAX_NOISE <= k - 2`, a cell whose true
//!   count is 0 or 1 is never published, whatever its key.
//!
//! The guarantee (README §6.2, docs/design.md §4.16): identical cells always carry identical
//! noise, so repeating or rephrasing a query gains nothing; two tables that differ by one
//! person's record give the attacker an odds ratio of at most [`max_odds_ratio`] on whether
//! that record exists, except when the noise of both cells sits at its limit, which happens
//! with probability at most [`edge_probability`]; a published cell is never more than
//! [`MAX_NOISE`] away from the truth.

/// Record keys and cell keys live in `0..KEY_MODULUS`.
pub const KEY_MODULUS: i64 = 256;

/// The largest noise added to or taken from a count.
pub const MAX_NOISE: i64 = 3;

/// The default threshold k: a cell whose perturbed count is below it is not published.
pub const DEFAULT_THRESHOLD: i64 = 5;

/// The lowest threshold an operator may set: with [`MAX_NOISE`] 3, a threshold below 5 would
/// publish some cells whose true count is 1 (one identifiable person).
pub const MIN_THRESHOLD: i64 = MAX_NOISE + 2;

/// How many of the [`KEY_MODULUS`] cell keys give each noise value, `-MAX_NOISE` first: a
/// two-sided geometric distribution with ratio 1/2 between neighbours, rounded to 256ths
/// (12, 23, 47, 92, 47, 23, 12). The noise of cell key `c` is the value whose cumulative
/// range holds `c`.
pub const NOISE_TABLE: [i64; (2 * MAX_NOISE + 1) as usize] = [12, 23, 47, 92, 47, 23, 12];

/// The noise the table gives a cell key.
pub fn noise(cell_key: i64) -> i64 {
    let c = cell_key.rem_euclid(KEY_MODULUS);
    let mut upto = 0;
    for (i, weight) in NOISE_TABLE.iter().enumerate() {
        upto += weight;
        if c < upto {
            return i as i64 - MAX_NOISE;
        }
    }
    MAX_NOISE
}

/// The published value of a cell with `count` distinct units whose keys sum to `key_sum`,
/// or `None` when the cell is not published (empty, or perturbed below `threshold`).
pub fn publish(count: i64, key_sum: i64, threshold: i64) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let value = count + noise(key_sum);
    (value >= threshold.max(MIN_THRESHOLD)).then_some(value)
}

/// The largest ratio between the probabilities of two neighbouring noise values: how much
/// one published cell, or the difference of two, can change the odds that one record is in
/// it (away from the noise's limits).
pub fn max_odds_ratio() -> f64 {
    NOISE_TABLE
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0] as f64, w[1] as f64);
            a.max(b) / a.min(b)
        })
        .fold(1.0, f64::max)
}

/// The probability that a comparison of two cells lands where the noise is at its limit
/// (one at `+MAX_NOISE`, the other at `-MAX_NOISE`), the one place the odds ratio above does
/// not bound.
pub fn edge_probability() -> f64 {
    let edge = NOISE_TABLE[0] as f64 / KEY_MODULUS as f64;
    2.0 * edge * edge
}

/// A rate derived from two published counts (acceptance, retention, achievement): computed
/// from the published values only, so it inherits their protection.
pub fn rate(numerator: Option<i64>, denominator: Option<i64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0 => Some((n as f64 / d as f64 * 1000.0).round() / 1000.0),
        _ => None,
    }
}

/// An average over a cell (the length of closed cases) is shown only when the cell's
/// published count is at least this many units.
pub const MEAN_MIN_UNITS: i64 = 20;

/// The relative step of a mean's noise: the mean is multiplied by `1 + step × e`, with `e`
/// drawn from the same table as a count's noise (`-MAX_NOISE..=MAX_NOISE`).
pub const MEAN_NOISE_STEP: f64 = 0.05;

/// The published mean of `sum` over a cell of `count` units whose keys sum to `key_sum`, or
/// `None` when the cell's count is not published or is below [`MEAN_MIN_UNITS`].
///
/// The mean carries noise of its own, read off the noise table at a key derived from the
/// cell key (so the same cell always gets the same mean, and the mean's noise tells nothing
/// of the count's): up to ±15 % of it. One unit more or less moves a mean of at least 20
/// units by a twentieth of its difference from the mean; the noise hides moves of that
/// size, where an exact mean would give a known unit's value away.
pub fn publish_mean(sum: f64, count: i64, key_sum: i64, threshold: i64) -> Option<f64> {
    let published = publish(count, key_sum, threshold)?;
    if published < MEAN_MIN_UNITS {
        return None;
    }
    let e = noise(key_sum.wrapping_mul(97).wrapping_add(KEY_MODULUS / 2));
    Some((sum / count as f64 * (1.0 + MEAN_NOISE_STEP * e as f64)).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_key_once() {
        assert_eq!(NOISE_TABLE.iter().sum::<i64>(), KEY_MODULUS);
        let counts: Vec<usize> = (-MAX_NOISE..=MAX_NOISE)
            .map(|e| (0..KEY_MODULUS).filter(|&c| noise(c) == e).count())
            .collect();
        assert_eq!(
            counts,
            NOISE_TABLE.iter().map(|&w| w as usize).collect::<Vec<_>>()
        );
        // Symmetric: unbiased.
        let mean: i64 = (0..KEY_MODULUS).map(noise).sum();
        assert_eq!(mean, 0);
    }

    #[test]
    fn the_same_cell_always_gets_the_same_value() {
        for key in [0, 17, 255, 256 * 9 + 3, -5] {
            assert_eq!(publish(40, key, 5), publish(40, key, 5));
            assert_eq!(noise(key), noise(key + KEY_MODULUS));
        }
    }

    #[test]
    fn a_cell_of_one_person_is_never_published_whatever_its_key() {
        for key in 0..KEY_MODULUS {
            assert_eq!(publish(1, key, DEFAULT_THRESHOLD), None);
            assert_eq!(publish(0, key, DEFAULT_THRESHOLD), None);
            // Not by lowering the threshold either.
            assert_eq!(publish(1, key, 1), None);
        }
    }

    #[test]
    fn published_values_stay_within_the_noise_bound() {
        for n in 1..200 {
            for key in 0..KEY_MODULUS {
                if let Some(v) = publish(n, key, DEFAULT_THRESHOLD) {
                    assert!((v - n).abs() <= MAX_NOISE);
                    assert!(v >= DEFAULT_THRESHOLD);
                }
            }
        }
    }

    #[test]
    fn the_documented_bounds_are_what_the_table_gives() {
        // README §6.2 and docs/design.md §4.16 quote these numbers.
        assert!(max_odds_ratio() <= 2.05, "{}", max_odds_ratio());
        assert!(edge_probability() <= 0.005, "{}", edge_probability());
    }

    #[test]
    fn rates_and_means() {
        assert_eq!(rate(Some(3), Some(4)), Some(0.75));
        assert_eq!(rate(None, Some(4)), None);
        assert_eq!(rate(Some(3), Some(0)), None);
        // Gated on the published count, not the true one: 19 units with noise +1 or more
        // would pass a gate on 20; 21 units with noise -2 or less would not.
        for key in 0..KEY_MODULUS {
            let published = publish(19, key, 5).unwrap();
            assert_eq!(publish_mean(1900.0, 19, key, 5).is_some(), published >= 20);
            // Within 15 % of the true mean, and the same every time.
            if let Some(m) = publish_mean(2000.0, 20, key, 5) {
                assert!((85.0..=115.0).contains(&m), "{m}");
                assert_eq!(publish_mean(2000.0, 20, key, 5), Some(m));
            }
        }
        // The mean's noise is not the count's: some keys give the count no noise and the
        // mean some.
        assert!((0..KEY_MODULUS)
            .any(|k| noise(k) == 0 && publish_mean(4000.0, 40, k, 5) != Some(100.0)));
        assert_eq!(publish_mean(100.0, 0, 0, 5), None);
    }
}
