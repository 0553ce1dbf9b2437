//! The few statistics the supervision figures need.

/// The q-quantile (0..=1) by the nearest-rank method on sorted data: the
/// smallest value with at least q of the data at or below it.
pub fn quantile(sorted: &[i64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).map(|v| *v as f64)
}

/// The median: the mean of the two middle values of an even count.
pub fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let mid = sorted.get(n / 2).copied()? as f64;
    if n % 2 == 1 {
        Some(mid)
    } else {
        Some((sorted.get(n / 2 - 1).copied()? as f64 + mid) / 2.0)
    }
}

pub fn share(k: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| k as f64 / n as f64)
}

/// A site's rate blended with the city's: `(k + m·p) / (n + m)`, as if the
/// site had `m` more records of city-average behaviour. A site with many
/// records keeps its own rate; one with three moves most of the way to the
/// city's, so chance does not rank it first or last.
pub fn shrunk(k: u64, n: u64, city: f64, m: f64) -> f64 {
    (k as f64 + m * city) / (n as f64 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_quantiles_by_hand() {
        assert_eq!(median(&[1, 2, 9]), Some(2.0));
        assert_eq!(median(&[1, 2, 4, 9]), Some(3.0));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(quantile(&ten, 0.9), Some(9.0));
        assert_eq!(quantile(&ten, 0.5), Some(5.0));
        assert_eq!(quantile(&[7], 0.9), Some(7.0));
        assert_eq!(quantile(&[], 0.9), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn a_small_site_moves_towards_the_city_a_big_one_keeps_its_rate() {
        // 3 of 3 timely where the city has 50 %, prior 20: (3 + 10) / 23.
        assert!((shrunk(3, 3, 0.5, 20.0) - 13.0 / 23.0).abs() < 1e-12);
        assert!((shrunk(900, 1000, 0.5, 20.0) - 910.0 / 1020.0).abs() < 1e-12);
    }
}
