//! Argon2id (version 0x13) key derivation, its bounds and its calibration.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::{KEY_LEN, WrapKey};
use crate::error::{Error, Result};

/// KDF id stored in the header for Argon2id v0x13.
pub const KDF_ARGON2ID_V13: u8 = 1;
/// Salt length in bytes.
pub const SALT_LEN: usize = 32;
/// Refused on open: more memory than this (4 GiB) is an attack on the machine, not a vault.
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Refused on open: more passes than this.
pub const MAX_ITERATIONS: u32 = 1000;
/// Refused on open: more lanes than this.
pub const MAX_PARALLELISM: u32 = 64;
/// OWASP's floor for Argon2id: 19 MiB and 2 passes. Below it `init` warns.
pub const OWASP_MIN_MEMORY_KIB: u32 = 19 * 1024;
/// OWASP's floor for the number of passes.
pub const OWASP_MIN_ITERATIONS: u32 = 2;
/// What one calibrated derivation should take.
pub const CALIBRATION_TARGET: Duration = Duration::from_millis(500);

/// Argon2id cost parameters, as stored in the vault header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory (t_cost).
    pub iterations: u32,
    /// Lanes (p_cost).
    pub parallelism: u32,
}

impl KdfParams {
    /// Refuses parameters keyward will not run: absurd ones from a damaged or hostile
    /// header are refused before any memory is allocated.
    pub fn check_bounds(&self) -> Result<()> {
        let Self {
            memory_kib,
            iterations,
            parallelism,
        } = *self;
        if memory_kib > MAX_MEMORY_KIB {
            return Err(Error::KdfRefused(format!(
                "{} MiB of memory (at most {} MiB)",
                memory_kib / 1024,
                MAX_MEMORY_KIB / 1024
            )));
        }
        if iterations > MAX_ITERATIONS || iterations == 0 {
            return Err(Error::KdfRefused(format!(
                "{iterations} passes (1 to {MAX_ITERATIONS})"
            )));
        }
        if parallelism == 0 || parallelism > MAX_PARALLELISM {
            return Err(Error::KdfRefused(format!(
                "{parallelism} lanes (1 to {MAX_PARALLELISM})"
            )));
        }
        if memory_kib < 8 * parallelism {
            return Err(Error::KdfRefused(format!(
                "{memory_kib} KiB of memory for {parallelism} lanes (at least 8 KiB a lane)"
            )));
        }
        Ok(())
    }

    /// True when these parameters are below OWASP's recommended floor.
    pub fn below_owasp_floor(&self) -> bool {
        self.memory_kib < OWASP_MIN_MEMORY_KIB || self.iterations < OWASP_MIN_ITERATIONS
    }
}

impl std::fmt::Display for KdfParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Argon2id m={} MiB, t={}, p={}",
            self.memory_kib / 1024,
            self.iterations,
            self.parallelism
        )
    }
}

/// Derives the key-wrapping key from a passphrase. Checks bounds first.
pub fn derive(passphrase: &[u8], salt: &[u8], params: &KdfParams) -> Result<WrapKey> {
    params.check_bounds()?;
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(KEY_LEN),
    )
    .map_err(|e| Error::KdfRefused(format!("Argon2 parameters {params} ({e})")))?;
    // The working memory is ours, so it is wiped when the derivation ends (the argon2
    // crate frees its own without wiping it): its last blocks give the key away.
    let mut memory = WorkMemory::new(argon_params.block_count()).ok_or_else(|| {
        Error::KdfRefused(format!("Argon2 parameters {params} (not enough memory)"))
    })?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    // Straight onto the key's locked page: no copy of the key anywhere else.
    let mut key = WrapKey::zeroed();
    argon
        .hash_password_into_with_memory(passphrase, salt, key.bytes_mut(), &mut memory)
        .map_err(|e| Error::KdfRefused(format!("Argon2 parameters {params} ({e})")))?;
    Ok(key)
}

/// Argon2's working memory: a private anonymous mapping of its own, asked for in 2 MiB
/// pages (`madvise(MADV_HUGEPAGE)`, transparent huge pages) where the system allows it.
/// With 4 KiB pages a derivation at 256 MiB takes 65,536 page faults, and Argon2's
/// reads, all over the memory, miss the TLB. Wiped, then unmapped, when dropped.
///
/// The one `unsafe` of the library (mmap, madvise, munmap and the view as blocks).
struct WorkMemory {
    map: *mut std::ffi::c_void,
    map_len: usize,
    blocks: *mut Block,
    count: usize,
}

/// The size of a transparent huge page on x86-64 and aarch64 (4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

#[allow(unsafe_code)]
impl WorkMemory {
    /// `count` blocks, or `None` when the system has not that much memory to give.
    fn new(count: usize) -> Option<Self> {
        use rustix::mm::{Advice, MapFlags, ProtFlags, madvise, mmap_anonymous};
        let len = count.checked_mul(std::mem::size_of::<Block>())?;
        // Room to start the blocks on a huge-page boundary.
        let map_len = len.checked_add(HUGE_PAGE)?;
        let flags = ProtFlags::READ | ProtFlags::WRITE;
        // SAFETY: a new private anonymous mapping, anywhere: nothing else refers to it.
        let map =
            unsafe { mmap_anonymous(std::ptr::null_mut(), map_len, flags, MapFlags::PRIVATE) }
                .ok()?;
        let offset = (map as usize).next_multiple_of(HUGE_PAGE) - map as usize;
        let blocks = map.wrapping_byte_add(offset).cast::<Block>();
        // SAFETY: advice on a range inside the mapping; refused advice changes nothing.
        let _ = unsafe { madvise(blocks.cast(), len, Advice::LinuxHugepage) };
        Some(Self {
            map,
            map_len,
            blocks,
            count,
        })
    }
}

#[allow(unsafe_code)]
impl AsMut<[Block]> for WorkMemory {
    fn as_mut(&mut self) -> &mut [Block] {
        // SAFETY: `count` blocks inside the mapping, page-aligned (Block needs 64 bytes),
        // zero-filled by the kernel (any bits are a valid Block), owned by `self` alone
        // until drop.
        unsafe { std::slice::from_raw_parts_mut(self.blocks, self.count) }
    }
}

#[allow(unsafe_code)]
impl Drop for WorkMemory {
    fn drop(&mut self) {
        for block in self.as_mut() {
            block.zeroize();
        }
        // SAFETY: the mapping made in `new`, unmapped once; no view of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.map, self.map_len) };
    }
}

/// Total RAM in KiB from /proc/meminfo, when it can be read.
fn total_ram_kib() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The memory `init` uses: 256 MiB, at most a quarter of RAM, never below 64 MiB.
pub fn default_memory_kib() -> u32 {
    let quarter = total_ram_kib().map(|k| k / 4).unwrap_or(256 * 1024);
    quarter.clamp(64 * 1024, 256 * 1024) as u32
}

/// Checks what was asked for a new vault (`None`: the default): memory 1 to 4096 MiB,
/// lanes 1 to 64, passes 1 to 1000. Errors name the `init` flag and the config key.
pub fn check_choice(
    memory_mib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
) -> Result<()> {
    let bad = |what: &str, range: String, flag: &str, key: &str| {
        Err(Error::Invalid(format!(
            "Argon2id {what} must be {range} ({flag}, or {key} under [kdf] in the config)"
        )))
    };
    if memory_mib.is_some_and(|m| !(1..=4096).contains(&m)) {
        return bad(
            "memory",
            "between 1 and 4096 MiB".into(),
            "--kdf-memory-mib",
            "memory_mib",
        );
    }
    if parallelism.is_some_and(|p| !(1..=MAX_PARALLELISM).contains(&p)) {
        let range = format!("between 1 and {MAX_PARALLELISM}");
        return bad("parallelism", range, "--kdf-parallelism", "parallelism");
    }
    if iterations.is_some_and(|i| !(1..=MAX_ITERATIONS).contains(&i)) {
        let range = format!("between 1 and {MAX_ITERATIONS}");
        return bad("passes", range, "--kdf-iterations", "iterations");
    }
    Ok(())
}

/// The parameters for a new vault from what was asked, checked by [`check_choice`]:
/// memory 256 MiB by default (at most a quarter of RAM, at least 64), 4 lanes, and
/// passes calibrated to about 500 ms unless given.
pub fn choose(
    memory_mib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
) -> Result<KdfParams> {
    check_choice(memory_mib, iterations, parallelism)?;
    let memory_kib = memory_mib.map_or_else(default_memory_kib, |m| m * 1024);
    let parallelism = parallelism.unwrap_or(4);
    match iterations {
        Some(iterations) => Ok(KdfParams {
            memory_kib,
            iterations,
            parallelism,
        }),
        None => calibrate(memory_kib, parallelism),
    }
}

/// Calibrates the number of passes so that one derivation takes about
/// [`CALIBRATION_TARGET`] on this machine, with at least 3 passes.
/// `memory_kib` and `parallelism` are kept as given.
pub fn calibrate(memory_kib: u32, parallelism: u32) -> Result<KdfParams> {
    let probe = KdfParams {
        memory_kib,
        iterations: 3,
        parallelism,
    };
    // The faster of two probes: one probe alone picked anything from 3 to 6 passes
    // from one `init` to the next on the same machine.
    let mut elapsed = Duration::MAX;
    for _ in 0..2 {
        let start = Instant::now();
        derive(b"keyward calibration", &[0u8; SALT_LEN], &probe)?;
        elapsed = elapsed.min(start.elapsed());
    }
    let elapsed = elapsed.max(Duration::from_millis(1));
    let scaled = (3.0 * CALIBRATION_TARGET.as_secs_f64() / elapsed.as_secs_f64()).round() as u32;
    Ok(KdfParams {
        iterations: scaled.clamp(3, 100),
        ..probe
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn derive_is_deterministic_and_salted() {
        let a = derive(b"pw", &[1; 16], &SMALL).unwrap();
        let b = derive(b"pw", &[1; 16], &SMALL).unwrap();
        let c = derive(b"pw", &[2; 16], &SMALL).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }

    #[test]
    fn absurd_parameters_are_refused() {
        for p in [
            KdfParams {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..SMALL
            },
            KdfParams {
                iterations: 1001,
                ..SMALL
            },
            KdfParams {
                parallelism: 0,
                ..SMALL
            },
        ] {
            assert!(
                matches!(p.check_bounds(), Err(Error::KdfRefused(_))),
                "{p:?}"
            );
        }
        assert!(SMALL.check_bounds().is_ok());
    }

    #[test]
    fn owasp_floor() {
        assert!(SMALL.below_owasp_floor());
        assert!(
            !KdfParams {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1
            }
            .below_owasp_floor()
        );
    }

    #[test]
    fn default_memory_is_within_bounds() {
        let m = default_memory_kib();
        assert!((64 * 1024..=256 * 1024).contains(&m));
    }

    /// RFC 9106 has no Argon2id test vector without secret/ad, so check against the
    /// known-answer from the reference implementation's `argon2` CLI:
    /// `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -r`
    #[test]
    fn matches_reference_implementation() {
        let p = KdfParams {
            memory_kib: 1 << 16,
            iterations: 2,
            parallelism: 4,
        };
        let k = derive(b"password", b"somesalt", &p).unwrap();
        assert_eq!(
            hex::encode(k.expose()),
            "1a9677b0afe81fda7b548895e7a1bfeb8668ffc19a530e37e088a668fab1c02a"
        );
    }
}
