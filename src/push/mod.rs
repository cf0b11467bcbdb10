//! Two-way contacts sync for DingTalk: with a connection's push switched on, local changes to
//! departments, role groups, roles and members are written to an outbox in the same transaction
//! as the change ([`outbox`]) and delivered to DingTalk in order by a background worker
//! ([`deliver`]), with retries and backoff, once per change, across restarts and instances.

pub mod deliver;
pub mod outbox;
