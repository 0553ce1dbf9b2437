use std::time::Instant;
#[test]
#[ignore]
fn scratch() {
    let s = jkda::session::login(std::path::Path::new("/tmp/e200"), "admin", "pw-123456").unwrap();
    let store = s.store;
    let qs = ["z", "zh", "zs", "w", "wx", "l", "li", "ch", "h", "x", "y", "yu", "zhang", "wang", "li", "1", "12", "123", "1234", "5678", "王", "秀", "英", "张伟"];
    for limit in [200usize, 100, 50, 20] {
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..5 { for q in qs { n += store.search_residents(q, limit).unwrap().len(); } }
        eprintln!("limit {limit}: {:.3} ms/search ({n} rows)", t.elapsed().as_secs_f64() * 1000.0 / (5 * qs.len()) as f64);
    }
}
