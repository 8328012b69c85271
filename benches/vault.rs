//! Benchmarks for the vault core's performance targets.
//!
//! - `open_list/10k`, `open_list/100k`: `Vault::open` (tiny KDF, header check, sled
//!   open) followed by `Vault::list` (decrypts every entry's metadata, sorts by name).
//!   Target: under 30 ms for 10,000 entries, under 300 ms for 100,000.
//! - `get/10k/entry_secret`: `Vault::entry` + `Vault::secret` in an open 10,000-entry
//!   vault (name-index lookup, metadata and secret decryption). Target: under 5 ms.
//! - `get/10k/use_secret`: `Vault::use_secret`, which also writes the use count and
//!   flushes it (fsync) before it returns.
//! - `argon2id/64MiB_t3_p4`: `keyward::crypto::kdf::derive` at 64 MiB, 3 passes,
//!   4 lanes. Compare with the reference C implementation using
//!   `bench/argon2-compare.sh`.
//!
//! Issue 6 (scaling, and the costs beyond the KDF; see bench/README.md):
//!
//! - `unlock/{1k,10k,100k}`: `Vault::open` alone, with the tiny KDF, so what is timed
//!   is everything an unlock does beyond the KDF (header, unwrap, sled open).
//! - `list/{1k,10k,100k}`: `Vault::list` on an open vault.
//! - `get/{1k,100k}/entry_secret`: as `get/10k/entry_secret`, at the other sizes.
//! - `import/10k_env`, `import/10k_json`: what `keyward import FILE` does after the
//!   unlock: parse the file (`transfer::parse`), make the import items, and
//!   `Vault::import_batch` (plan, one transaction, flush), into a new empty vault.
//! - `rekey/10k`: `Vault::rekey` of a 10,000-entry vault (every record re-sealed in one
//!   transaction).
//!
//! The vaults are populated once under `target/bench-vaults/` and reused when they
//! already hold the expected number of entries (an interrupted populate resumes).
//! Populating is not measured. Vault benches use a tiny KDF (64 KiB, 1 pass, 1 lane)
//! so that keyward's own work is what gets measured.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use keyward::crypto::{KdfParams, kdf};
use keyward::model::{NewEntry, Secret};
use keyward::transfer::{self, Format, ImportItem, ImportOptions, OnConflict};
use keyward::{Passphrase, Vault};

// The binary's allocator and its tuning (src/main.rs), so the benches measure what
// it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn keep_freed_memory_a_second() {
    // SAFETY: as in src/main.rs: set before criterion starts any thread.
    unsafe { libmimalloc_sys::mi_option_set(15, 1000) }
}

/// The fixed, tiny KDF of the benchmark vaults.
const BENCH_KDF: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

const PASSPHRASE: &str = "correct horse battery staple (bench)";

/// Providers cycled through, so the metadata is not all alike.
const PROVIDERS: [&str; 8] = [
    "openai",
    "anthropic",
    "gemini",
    "groq",
    "mistral",
    "github",
    "stripe",
    "custom",
];

const ENVIRONMENTS: [&str; 4] = ["prod", "staging", "dev", "test"];

fn passphrase() -> Passphrase {
    Passphrase::new(PASSPHRASE.to_string()).expect("non-empty passphrase")
}

fn vaults_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-vaults")
}

fn entry_name(i: usize) -> String {
    format!("bench-key-{i:06}")
}

fn new_entry(i: usize) -> NewEntry {
    let provider = PROVIDERS[i % PROVIDERS.len()];
    NewEntry {
        name: entry_name(i),
        provider: Some(provider.to_string()),
        environment: Some(ENVIRONMENTS[(i / PROVIDERS.len()) % ENVIRONMENTS.len()].to_string()),
        tags: vec!["bench".to_string(), format!("team-{}", i % 17)],
        notes: format!("benchmark entry {i}"),
        force: true,
        // A realistic key length (about 50 characters).
        secret: Secret::new(&format!(
            "sk-bench-{i:06}-{:040x}",
            (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        )),
        ..Default::default()
    }
}

/// Makes sure `target/bench-vaults/{label}` holds a vault of exactly `n` entries,
/// creating or resuming it as needed. Each `add` is one flushed transaction, so a
/// first run for 100,000 entries takes a while; later runs reuse the vault.
fn ensure_vault(label: &str, n: usize) -> PathBuf {
    let dir = vaults_root().join(label);
    let pass = passphrase();
    let mut vault = if keyward::vault::exists(&dir) {
        Vault::open(&dir, &pass).expect("open bench vault")
    } else {
        std::fs::create_dir_all(vaults_root()).expect("create target/bench-vaults");
        Vault::create(&dir, &pass, BENCH_KDF).expect("create bench vault")
    };
    assert_eq!(
        vault.kdf_params(),
        BENCH_KDF,
        "{} was made with other KDF parameters; delete it",
        dir.display()
    );
    // Entries are added in order and each add is atomic, so 0..len are present.
    let have = vault.len();
    assert!(
        have <= n,
        "{} holds {have} entries, more than {n}; delete it",
        dir.display()
    );
    if have < n {
        eprintln!(
            "populating {} with entries {have}..{n} (not measured)",
            dir.display()
        );
        let start = Instant::now();
        let mut last = Instant::now();
        for i in have..n {
            vault.add(new_entry(i)).expect("add bench entry");
            if last.elapsed() >= Duration::from_secs(10) || i + 1 == n {
                last = Instant::now();
                let done = i + 1 - have;
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "  {}/{n} entries, {:.0} adds/s, {secs:.0} s so far",
                    i + 1,
                    done as f64 / secs
                );
            }
        }
        eprintln!(
            "populated {} in {:.1} s",
            dir.display(),
            start.elapsed().as_secs_f64()
        );
    }
    assert_eq!(vault.len(), n);
    dir
}

fn vault_1k() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure_vault("1k", 1_000))
}

fn vault_10k() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure_vault("10k", 10_000))
}

fn vault_100k() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure_vault("100k", 100_000))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for item in std::fs::read_dir(from).expect("read vault dir") {
        let item = item.expect("read vault dir entry");
        let target = to.join(item.file_name());
        if item.file_type().expect("file type").is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).expect("copy vault file");
        }
    }
}

/// A fresh copy of the 10k vault for the `get` benches, so that `use_secret`'s
/// writes never touch the vault `open_list` measures.
fn vault_10k_scratch() -> PathBuf {
    scratch_copy(vault_10k(), "10k-get")
}

/// A fresh copy of `src` at `target/bench-vaults/{label}`.
fn scratch_copy(src: &Path, label: &str) -> PathBuf {
    let dst = vaults_root().join(label);
    if dst.exists() {
        std::fs::remove_dir_all(&dst).expect("remove old scratch copy");
    }
    copy_dir(src, &dst);
    dst
}

/// A bench vault: (label, entries, the function that makes sure it exists).
type Sized = (&'static str, usize, fn() -> &'static Path);

/// The three sizes of the scaling benches.
fn sizes() -> [Sized; 3] {
    [
        ("1k", 1_000, vault_1k),
        ("10k", 10_000, vault_10k),
        ("100k", 100_000, vault_100k),
    ]
}

/// Times `Vault::open` + `Vault::list`; closing the vault (sled's drop) is done
/// outside the timed part.
fn bench_open_list(
    c: &mut Criterion,
    id: &str,
    n: usize,
    dir: fn() -> &'static Path,
    measure: u64,
) {
    let mut group = c.benchmark_group("open_list");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(measure));
    group.bench_function(id, |b| {
        let dir = dir();
        let pass = passphrase();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let vault = Vault::open(black_box(dir), &pass).expect("open");
                let entries = vault.list().expect("list");
                total += start.elapsed();
                assert_eq!(entries.len(), n);
                drop(black_box(entries));
                drop(vault);
            }
            total
        });
    });
    group.finish();
}

fn open_list(c: &mut Criterion) {
    bench_open_list(c, "10k", 10_000, vault_10k, 5);
    bench_open_list(c, "100k", 100_000, vault_100k, 15);
}

fn get(c: &mut Criterion) {
    let mut group = c.benchmark_group("get");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // Opened lazily so a filtered run (`-- argon2id`) does not populate anything.
    let mut vault: Option<Vault> = None;
    let mut open = || -> Vault {
        let dir = vault_10k_scratch();
        let v = Vault::open(&dir, &passphrase()).expect("open 10k copy");
        assert_eq!(v.len(), 10_000);
        v
    };
    // A name sequence that jumps around the vault (7919 is prime to 10,000).
    let mut k = 0usize;
    let mut next_name = move || {
        k = k.wrapping_add(1);
        entry_name((k * 7919) % 10_000)
    };

    group.bench_function("10k/entry_secret", |b| {
        let v = vault.get_or_insert_with(&mut open);
        b.iter_batched(
            &mut next_name,
            |name| {
                let entry = v.entry(&name).expect("entry");
                let secret = v.secret(&entry).expect("secret");
                (entry, secret)
            },
            criterion::BatchSize::SmallInput,
        );
    });
    // The same read at 1,000 and 100,000 entries, for the scaling (read-only, so
    // straight on the shared vaults).
    for (label, n, dir) in [
        ("1k", 1_000, vault_1k as fn() -> &'static Path),
        ("100k", 100_000, vault_100k),
    ] {
        let mut opened: Option<Vault> = None;
        let mut k = 0usize;
        group.bench_function(format!("{label}/entry_secret"), |b| {
            let v = opened.get_or_insert_with(|| Vault::open(dir(), &passphrase()).expect("open"));
            b.iter_batched(
                || {
                    k = k.wrapping_add(1);
                    entry_name((k * 7919) % n)
                },
                |name| {
                    let entry = v.entry(&name).expect("entry");
                    let secret = v.secret(&entry).expect("secret");
                    (entry, secret)
                },
                criterion::BatchSize::SmallInput,
            );
        });
    }
    group.bench_function("10k/use_secret", |b| {
        let v = vault.get_or_insert_with(&mut open);
        b.iter_batched(
            &mut next_name,
            |name| v.use_secret(&name).expect("use_secret"),
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn argon2id(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let params = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    group.bench_function("64MiB_t3_p4", |b| {
        b.iter(|| {
            kdf::derive(black_box(b"pw"), black_box(b"somesaltsomesalt"), &params).expect("derive")
        });
    });
    group.finish();
}

/// `Vault::open` alone (the tiny KDF: the rest of an unlock), at each size.
fn unlock(c: &mut Criterion) {
    let mut group = c.benchmark_group("unlock");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (label, n, dir) in sizes() {
        group.bench_function(label, |b| {
            let dir = dir();
            let pass = passphrase();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let vault = Vault::open(black_box(dir), &pass).expect("open");
                    total += start.elapsed();
                    assert_eq!(vault.len(), n);
                    drop(vault); // sled's close, not timed
                }
                total
            });
        });
    }
    group.finish();
}

/// `Vault::list` on an open vault, at each size.
fn list(c: &mut Criterion) {
    let mut group = c.benchmark_group("list");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (label, n, dir) in sizes() {
        let mut opened: Option<Vault> = None;
        group.bench_function(label, |b| {
            let v = opened.get_or_insert_with(|| Vault::open(dir(), &passphrase()).expect("open"));
            b.iter(|| {
                let entries = v.list().expect("list");
                assert_eq!(entries.len(), n);
                entries
            });
        });
    }
    group.finish();
}

/// 10,000 env lines, as `bench/transfer.sh` uses: `SERVICE_n_API_KEY=sk-proj-…`.
fn env_file(n: usize) -> String {
    (0..n)
        .map(|i| format!("SERVICE_{i:05}_API_KEY=sk-proj-{i:032}\n"))
        .collect()
}

/// The same 10,000 keys as a JSON array with names and metadata.
fn json_file(n: usize) -> String {
    let records: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"name":"svc-{i:05}","provider":"openai","environment":"{}","tags":["team-{}","billing"],"notes":"service {i}","secret":"sk-proj-{i:032}"}}"#,
                ENVIRONMENTS[i % ENVIRONMENTS.len()],
                i % 13
            )
        })
        .collect();
    format!("[{}]", records.join(",\n"))
}

/// What `keyward import` does once the vault is open: parse, make the items, import
/// them in one transaction (the CLI's report printing is left out).
fn import_text(vault: &mut Vault, format: Format, text: &str) -> usize {
    let parsed = transfer::parse(format, text, "prod").expect("parse");
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let items: Vec<ImportItem> = parsed
        .items
        .into_iter()
        .map(|i| ImportItem {
            line: i.line,
            derived_name: i.derived_name,
            entry: i.record.into_new_entry(),
        })
        .collect();
    let opts = ImportOptions {
        on_conflict: OnConflict::Skip,
        skip_invalid: false,
        dry_run: false,
        grace_days: 7,
    };
    let report = vault.import_batch(items, opts).expect("import");
    assert!(report.written);
    report.imported()
}

/// Import of 10,000 keys into a new, empty vault (made outside the timed part).
fn import(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let n = 10_000;
    for (label, format, text) in [
        ("10k_env", Format::Env, env_file(n)),
        ("10k_json", Format::Json, json_file(n)),
    ] {
        group.bench_function(label, |b| {
            let dir = vaults_root().join("import-scratch");
            let pass = passphrase();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if dir.exists() {
                        std::fs::remove_dir_all(&dir).expect("remove import scratch");
                    }
                    std::fs::create_dir_all(vaults_root()).expect("create target/bench-vaults");
                    let mut vault = Vault::create(&dir, &pass, BENCH_KDF).expect("create");
                    let start = Instant::now();
                    let imported = import_text(&mut vault, format, black_box(&text));
                    total += start.elapsed();
                    assert_eq!(imported, n);
                    drop(vault);
                }
                total
            });
        });
    }
    group.finish();
}

/// `Vault::rekey` of a copy of the 10,000-entry vault, again and again (each run
/// re-seals the same records: the entries, their versions and the audit log).
fn rekey(c: &mut Criterion) {
    let mut group = c.benchmark_group("rekey");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let mut opened: Option<Vault> = None;
    group.bench_function("10k", |b| {
        let v = opened.get_or_insert_with(|| {
            let dir = scratch_copy(vault_10k(), "10k-rekey");
            Vault::open(&dir, &passphrase()).expect("open 10k copy")
        });
        b.iter(|| assert_eq!(v.rekey().expect("rekey"), 10_000));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = { keep_freed_memory_a_second(); Criterion::default() };
    targets = open_list, get, argon2id, unlock, list, import, rekey
}
criterion_main!(benches);
