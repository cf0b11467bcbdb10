//! The Roster database migrator: forward-only migrations, one file per change, applied at start-up
//! and by `roster migrate`.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261122_000001_create_organization_tables;
mod m20261122_000002_create_directory_tables;
mod m20261122_000003_create_auth_tables;
mod m20261122_000004_create_member_search_index;
mod m20261122_000005_create_download_table;
mod m20261122_000006_create_member_nickname_index;
mod m20261122_000007_create_callback_event_table;
mod m20261122_000008_create_outbox_table;
mod m20261122_000009_add_directory_department_leaders;
mod m20261122_000010_create_member_nickname_sort_index;
mod m20261122_000011_create_member_filtered_sort_indexes;
mod m20261123_000012_member_search_update_when_changed;
mod m20261203_000013_member_user_index;
mod m20261203_000014_member_search_contentless;
mod m20261204_000015_member_nickname_order_by_unique_index;
mod m20261205_000016_department_path_pattern_index;
mod m20261205_000017_user_password_change_required;
mod m20261205_000018_user_password_expires_at;
mod m20261205_000019_member_flagged_index;
mod m20261206_000020_member_tally;
mod m20261206_000021_sub_tree_member;
mod m20261206_000022_member_search_body;
mod m20261206_000023_member_search_short_keywords;
mod m20261207_000024_member_search_characters;
mod m20261207_000025_member_search_marked;
mod m20261207_000026_member_search_signs;
mod m20261207_000027_member_search_letters;

/// Every migration of Roster, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_organization_tables::Migration),
            Box::new(m20261122_000002_create_directory_tables::Migration),
            Box::new(m20261122_000003_create_auth_tables::Migration),
            Box::new(m20261122_000004_create_member_search_index::Migration),
            Box::new(m20261122_000005_create_download_table::Migration),
            Box::new(m20261122_000006_create_member_nickname_index::Migration),
            Box::new(m20261122_000007_create_callback_event_table::Migration),
            Box::new(m20261122_000008_create_outbox_table::Migration),
            Box::new(m20261122_000009_add_directory_department_leaders::Migration),
            Box::new(m20261122_000010_create_member_nickname_sort_index::Migration),
            Box::new(m20261122_000011_create_member_filtered_sort_indexes::Migration),
            Box::new(m20261123_000012_member_search_update_when_changed::Migration),
            Box::new(m20261203_000013_member_user_index::Migration),
            Box::new(m20261203_000014_member_search_contentless::Migration),
            Box::new(m20261204_000015_member_nickname_order_by_unique_index::Migration),
            Box::new(m20261205_000016_department_path_pattern_index::Migration),
            Box::new(m20261205_000017_user_password_change_required::Migration),
            Box::new(m20261205_000018_user_password_expires_at::Migration),
            Box::new(m20261205_000019_member_flagged_index::Migration),
            Box::new(m20261206_000020_member_tally::Migration),
            Box::new(m20261206_000021_sub_tree_member::Migration),
            Box::new(m20261206_000022_member_search_body::Migration),
            Box::new(m20261206_000023_member_search_short_keywords::Migration),
            Box::new(m20261207_000024_member_search_characters::Migration),
            Box::new(m20261207_000025_member_search_marked::Migration),
            Box::new(m20261207_000026_member_search_signs::Migration),
            Box::new(m20261207_000027_member_search_letters::Migration),
        ]
    }
}
