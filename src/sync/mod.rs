//! Contacts sync: a connection's view of the provider's organization chart is read in full
//! ([`runner`]), compared with the per-connection mirror ([`diff`]) and applied in one
//! transaction ([`apply`]); people are added from the mirror by choice or by policy
//! ([`admit`]); provider callbacks apply the same difference for single objects ([`events`]).
//! [`lease`] keeps one sync per connection across instances, [`progress`] feeds subscriptions,
//! and [`directory`] serves the mirror to administrators (browse, delete flagged, clear);
//! [`subscriptions`] keeps Microsoft Graph change notifications coming.

pub mod admit;
pub mod apply;
pub mod diff;
pub mod directory;
pub mod events;
pub mod lease;
pub mod progress;
pub mod runner;
pub mod subscriptions;

pub use progress::SyncHub;
