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
use keyward::{Passphrase, Vault};

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
    let src = vault_10k();
    let dst = vaults_root().join("10k-get");
    if dst.exists() {
        std::fs::remove_dir_all(&dst).expect("remove old 10k-get copy");
    }
    copy_dir(src, &dst);
    dst
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

criterion_group!(benches, open_list, get, argon2id);
criterion_main!(benches);
