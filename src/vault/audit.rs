//! The audit log: every use and change is an event, sealed like entries and chained
//! by a keyed MAC (each link covers the previous link and the event), so a removed,
//! reordered or altered event is detected. The head (last sequence number and link)
//! is sealed in the state tree, so events cut off the end are detected too.

use serde::{Deserialize, Serialize};

use super::{Field, NO_ENTRY, STATE_AUDIT_DAMAGE, STATE_AUDIT_HEAD, Vault, now};
use crate::error::{Error, Result};
use crate::model::{Action, AuditEvent, Entry};
use crate::store::{Batch, Tree};

/// What `audit --verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every event is there, in order, unaltered.
    Intact {
        /// Number of events.
        events: u64,
    },
    /// The chain breaks.
    Broken {
        /// The first event that does not check.
        at: u64,
        /// What is wrong, one line.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) struct AuditRecord {
    event: AuditEvent,
    link: [u8; 32],
}

impl Vault {
    /// Reads the sealed head of the chain; an empty log has none.
    pub(super) fn read_audit_head(&self) -> Result<(u64, [u8; 32])> {
        let Some(record) = self.store.get(Tree::State, STATE_AUDIT_HEAD)? else {
            return Ok((0, [0; 32]));
        };
        let (_, plain) = self.open_record(&NO_ENTRY, Field::AuditHead, &record)?;
        postcard::from_bytes(&plain[1..])
            .map_err(|_| Error::Corrupt("the audit head does not decode".into()))
    }

    /// Stages an audit event (and the new head) into `batch`; `commit` makes it the
    /// head once the batch is on disk.
    pub(super) fn push_event(
        &mut self,
        batch: &mut Batch,
        action: Action,
        entry: Option<&Entry>,
        detail: &str,
    ) -> Result<()> {
        let (prev_seq, prev_link) = self.audit_pending.unwrap_or(self.audit_head);
        let seq = prev_seq + 1;
        let detail = detail.to_string();
        // Damage found on open is sealed into the state the first time anything is
        // written, so it outlives the head that the next event rewrites.
        if let Some(note) = &self.audit_head_damaged
            && self.store.get(Tree::State, STATE_AUDIT_DAMAGE)?.is_none()
        {
            let plain = Self::encode(note, 0);
            let sealed = self.seal_record(&NO_ENTRY, Field::AuditDamage, 0, &plain);
            batch.put(Tree::State, STATE_AUDIT_DAMAGE, sealed);
        }
        let event = AuditEvent {
            seq,
            at: now(),
            action,
            entry: entry.map(|e| e.meta.name.clone()),
            entry_id: entry.map(|e| e.id.0),
            source: self.source,
            detail,
        };
        let bytes = postcard::to_allocvec(&event)
            .map_err(|_| Error::Storage("cannot encode an audit event".into()))?;
        let link = self.sealer.audit_link(&prev_link, &bytes);
        let record = Self::encode(&AuditRecord { event, link }, 0);
        let sealed = self.seal_record(&NO_ENTRY, Field::Audit, seq, &record);
        batch.put(Tree::Audit, seq.to_be_bytes(), sealed);
        let head = Self::encode(&(seq, link), 0);
        let sealed_head = self.seal_record(&NO_ENTRY, Field::AuditHead, seq, &head);
        batch.put(Tree::State, STATE_AUDIT_HEAD, sealed_head);
        self.audit_pending = Some((seq, link));
        Ok(())
    }

    fn audit_records(&self) -> Result<Vec<(u64, Result<AuditRecord>)>> {
        let mut out = Vec::new();
        self.store.for_each(Tree::Audit, |k, v| {
            let seq = <[u8; 8]>::try_from(k).map(u64::from_be_bytes).unwrap_or(0);
            let record = self
                .open_record(&NO_ENTRY, Field::Audit, v)
                .and_then(|(rev, plain)| {
                    if rev != seq {
                        return Err(Error::Corrupt(format!("audit event {seq} moved")));
                    }
                    postcard::from_bytes::<AuditRecord>(&plain[1..])
                        .map_err(|_| Error::Corrupt(format!("audit event {seq} does not decode")))
                });
            out.push((seq, record));
            Ok(())
        })?;
        Ok(out)
    }

    /// The audit events, oldest first: all, or those about entry `name` (by its id
    /// while it exists, so renames are followed), from `since` (Unix seconds) on.
    pub fn audit(&self, name: Option<&str>, since: Option<i64>) -> Result<Vec<AuditEvent>> {
        let id = match name {
            Some(n) => self.entry(n).ok().map(|e| e.id.0),
            None => None,
        };
        let mut out = Vec::new();
        for (_, record) in self.audit_records()? {
            let event = record?.event;
            let about = match (name, id) {
                (None, _) => true,
                (Some(_), Some(id)) => event.entry_id == Some(id),
                (Some(n), None) => event.entry.as_deref() == Some(n),
            };
            if about && since.is_none_or(|s| event.at >= s) {
                out.push(event);
            }
        }
        Ok(out)
    }

    /// Damage recorded by an earlier open, if any (unreadable counts as damage too).
    pub(super) fn read_audit_damage(&self) -> Option<String> {
        let record = self.store.get(Tree::State, STATE_AUDIT_DAMAGE).ok()??;
        Some(
            self.open_record(&NO_ENTRY, Field::AuditDamage, &record)
                .ok()
                .and_then(|(_, plain)| postcard::from_bytes::<String>(&plain[1..]).ok())
                .unwrap_or_else(|| "the log's damage record was altered".into()),
        )
    }

    /// The sequence number and link of the last event (an empty log: 0 and zeros).
    pub(super) fn last_audit_link(&self) -> Result<(u64, [u8; 32])> {
        let mut last = (0, [0u8; 32]);
        for (seq, record) in self.audit_records()? {
            if let Ok(r) = record {
                last = (seq, r.link);
            }
        }
        Ok(last)
    }

    /// Walks the chain from the first event to the head.
    pub fn verify_audit(&self) -> Result<AuditCheck> {
        if let Some(why) = &self.audit_head_damaged {
            return Ok(AuditCheck::Broken {
                at: self.audit_head.0,
                reason: why.clone(),
            });
        }
        let mut expected = 1u64;
        let mut prev = [0u8; 32];
        let broken = |at: u64, reason: String| Ok(AuditCheck::Broken { at, reason });
        for (seq, record) in self.audit_records()? {
            if seq != expected {
                return broken(expected, format!("event {expected} is missing"));
            }
            let record = match record {
                Ok(r) => r,
                Err(_) => return broken(seq, format!("event {seq} was altered")),
            };
            let bytes = postcard::to_allocvec(&record.event)
                .map_err(|_| Error::Storage("cannot encode an audit event".into()))?;
            if record.event.seq != seq || self.sealer.audit_link(&prev, &bytes) != record.link {
                return broken(
                    seq,
                    format!(
                        "event {seq} does not follow event {} (altered, removed or reordered)",
                        seq - 1
                    ),
                );
            }
            prev = record.link;
            expected += 1;
        }
        let last = expected - 1;
        match self.read_audit_head() {
            Ok((seq, link)) if seq == last && link == prev => {
                Ok(AuditCheck::Intact { events: last })
            }
            Ok((seq, _)) if seq > last => broken(
                last + 1,
                format!(
                    "the log ends at event {last} but its head says {seq}: events were removed"
                ),
            ),
            Ok(_) => broken(last, "the log's head does not match its last event".into()),
            Err(_) => broken(last, "the log's head was altered".into()),
        }
    }
}
