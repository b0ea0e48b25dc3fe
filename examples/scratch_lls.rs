fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let exps = splitflow::paper::run("lls", &splitflow::paper::PaperOptions { quick, seed: 0 }, &mut |s| eprintln!("{s}")).unwrap();
    for e in &exps {
        println!("{} fact {:.3}s", e.problem, e.factorization_seconds);
        for r in &e.runs { println!("{:10} {:10.3e} conv={} div={} it={:?} run={} {:.3}s {:.1}us/it eval {:.3}s", r.method, r.alpha, r.converged, r.diverged, r.iterations, r.iterations_run, r.seconds, r.microseconds_per_iteration, r.eval_seconds); }
    }
}
