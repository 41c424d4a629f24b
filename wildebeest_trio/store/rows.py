"""The rows the store returns: one TypedDict per table, and one per joined view.

They cost nothing at run time (the backends build plain dicts) and let a type checker
read `row["column"]`. Every layer may import this module (services, federation, the
serializers, http): it imports nothing of the project.

A table's TypedDict holds every column of the table as the migrations leave it
(`tests/test_store_types.py` migrates both backends and compares), typed as the store
returns it: where the store decodes a JSON column (polls, filters, media, reports,
scheduled statuses, Web Push subscriptions, jobs), the decoded value. A view is the
table's TypedDict plus what the query joins in (`AccountPageRow` is an account with the
cursor `page_id` of the list it came from), or only what a query selects.

BOOLEAN columns come back as `True`/`False` from PostgreSQL and as `1`/`0` from SQLite:
they are typed `SqlBool` (an int), to be tested for truth, or passed through `bool()`
before they leave as JSON.
"""

from typing import NotRequired, TypeAlias, TypedDict

#: A BOOLEAN column as read: bool on PostgreSQL, 0 or 1 on SQLite.
SqlBool: TypeAlias = int
#: A decoded JSON value.
Json: TypeAlias = str | int | float | bool | list["Json"] | dict[str, "Json"] | None
JsonObject: TypeAlias = dict[str, Json]


# Tables ---------------------------------------------------------------------------------------


class SchemaMigrationRow(TypedDict):
    version: int
    name: str
    applied_at: int


class IdNodeRow(TypedDict):
    node: int
    owner: str
    expires_at: int


class CustomEmojiRow(TypedDict):
    id: int
    shortcode: str
    domain: str | None
    uri: str | None
    image_key: str | None
    image_remote_url: str | None
    content_type: str | None
    category: str | None
    visible_in_picker: SqlBool
    disabled: SqlBool
    created_at: int
    updated_at: int
    static_image_key: str | None
    image_cached_at: int | None
    image_cached_url: str | None


class AccountRow(TypedDict):
    id: int
    username: str
    domain: str | None
    uri: str
    url: str | None
    actor_type: str
    display_name: str
    note: str
    fields: str  # JSON [{name, value, verified_at}]
    locked: SqlBool
    bot: SqlBool
    discoverable: SqlBool
    indexable: SqlBool
    hide_collections: SqlBool
    inbox_url: str | None
    shared_inbox_url: str | None
    outbox_url: str | None
    followers_url: str | None
    following_url: str | None
    featured_url: str | None
    avatar_remote_url: str | None
    header_remote_url: str | None
    also_known_as: str  # JSON list of actor URIs
    moved_to_account_id: int | None
    moved_at: int | None
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: int | None
    suspended_at: int | None
    silenced_at: int | None
    last_fetched_at: int | None
    created_at: int
    updated_at: int
    note_source: str
    fields_source: str
    avatar_key: str | None
    header_key: str | None
    avatar_cached_at: int | None
    avatar_cached_url: str | None
    header_cached_at: int | None
    header_cached_url: str | None
    attribution_domains: str | None  # JSON list of host names (Mastodon 4.3)
    sensitized_at: int | None
    # Moves with every change to the row (migration 0028's trigger): the cached entity's key.
    entity_version: int
    #: Not a column: the enabled custom emoji the profile uses, set on the rows the
    #: store hydrates (`custom_emojis.attach_to_accounts`, `statuses.hydrate`).
    emojis: NotRequired[list[CustomEmojiRow]]


class EntityEpochRow(TypedDict):
    """The version of something many entities share (`custom_emojis`), moved by triggers."""

    name: str
    version: int


class QuoteRow(TypedDict):
    id: int
    status_id: int
    account_id: int
    quoted_status_id: int | None
    quoted_account_id: int | None
    quoted_uri: str | None
    state: str  # pending, accepted, rejected or revoked
    legacy: SqlBool
    activity_uri: str | None
    approval_uri: str | None
    created_at: int
    updated_at: int


class HomeFeedRow(TypedDict):
    account_id: int
    version: int
    built_version: int | None
    read_at: int
    expires_at: int | None  # a timed mute ends then: the feed is rebuilt
    complete_from: int


class HomeFeedEntryRow(TypedDict):
    account_id: int
    status_id: int
    reblog_of_id: int | None


class PreviewCardRow(TypedDict):
    id: int
    url: str
    title: str
    description: str
    type: str
    link_type: str
    author_name: str
    author_url: str
    author_account_id: int | None
    provider_name: str
    provider_url: str
    html: str
    width: int
    height: int
    image_remote_url: str | None
    image_key: str | None
    image_description: str
    embed_url: str
    blurhash: str | None
    published_at: int | None
    language: str | None
    trendable: SqlBool | None
    created_at: int
    updated_at: int


class PreviewCardLinkRow(TypedDict):
    url: str
    preview_card_id: int | None
    fetched_at: int | None
    claimed_until: int | None


class PreviewCardStatusRow(TypedDict):
    status_id: int
    preview_card_id: int
    url: str
    created_at: int


class KeypairRow(TypedDict):
    id: int
    account_id: int
    key_id: str
    public_key_pem: str
    private_key_pem: str | None
    created_at: int


class UserRow(TypedDict):
    id: int
    account_id: int
    email: str
    password_hash: str | None
    role: str
    confirmed_at: int | None
    approved: SqlBool
    disabled: SqlBool
    locale: str
    sign_up_reason: str
    settings: str  # JSON
    last_sign_in_at: int | None
    created_at: int
    updated_at: int
    unconfirmed_email: str | None
    otp_secret: str | None
    otp_enabled_at: int | None
    otp_last_step: int | None
    last_emailed_at: int | None
    owner: SqlBool
    sign_up_ip: str | None


class OAuthApplicationRow(TypedDict):
    id: int
    name: str
    website: str | None
    redirect_uris: str
    scopes: str
    client_id: str
    client_secret: str
    owner_account_id: int | None
    created_at: int


class OAuthAccessTokenRow(TypedDict):
    id: int
    application_id: int | None
    account_id: int | None
    token_hash: str
    scopes: str
    created_at: int
    revoked_at: int | None
    last_used_at: int | None


class OAuthAccessGrantRow(TypedDict):
    id: int
    application_id: int
    account_id: int
    code_hash: str
    redirect_uri: str
    scopes: str
    code_challenge: str | None
    created_at: int
    expires_at: int
    used_at: int | None


class StatusRow(TypedDict):
    id: int
    uri: str
    url: str | None
    account_id: int
    local: SqlBool
    in_reply_to_id: int | None
    in_reply_to_account_id: int | None
    reblog_of_id: int | None
    text: str
    content: str
    spoiler_text: str
    sensitive: SqlBool
    visibility: str
    language: str | None
    application_id: int | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    created_at: int
    updated_at: int
    edited_at: int | None
    deleted_at: int | None
    conversation_id: int | None
    poll_id: int | None
    quote_approval_policy: int  # Mastodon's bits: automatic << 16 | manual (quote_policy.py)
    quotes_count: int
    replies_fetched_at: int | None
    trendable: SqlBool | None
    # Moves with every change to what the Status entity shows (migration 0028's triggers).
    entity_version: int


class FollowRow(TypedDict):
    id: int
    account_id: int
    target_account_id: int
    uri: str | None
    show_reblogs: SqlBool
    notify: SqlBool
    languages: str | None  # JSON list, or NULL for all
    created_at: int


class FollowRequestRow(FollowRow):
    """The same columns as a follow."""


class JobRow(TypedDict):
    id: int
    kind: str
    payload: JsonObject
    state: str
    attempts: int
    max_attempts: int
    run_at: int
    lease_until: int | None
    locked_by: str | None
    last_error: str | None
    dedupe_key: str | None
    created_at: int
    updated_at: int
    shared_id: int | None  # the part of the payload stored once (job_shared_payloads)


class JobSharedPayloadRow(TypedDict):
    id: int
    data: str  # JSON
    created_at: int


class InstanceSettingRow(TypedDict):
    key: str
    value: str  # JSON
    updated_at: int


class InstanceRuleRow(TypedDict):
    id: int
    text: str
    hint: str
    position: int
    created_at: int
    deleted_at: int | None


class WebSessionRow(TypedDict):
    id: int
    account_id: int
    token_hash: str
    user_agent: str
    ip: str
    created_at: int
    last_seen_at: int
    revoked_at: int | None


class ConversationMuteRow(TypedDict):
    id: int
    account_id: int
    conversation_id: int
    created_at: int


class AccountConversationRow(TypedDict):
    id: int
    account_id: int
    conversation_id: int
    participant_ids: str  # JSON: the other accounts' ids, sorted
    last_status_id: int
    unread: SqlBool


class MentionRow(TypedDict):
    id: int
    status_id: int
    account_id: int
    created_at: int


class TagRow(TypedDict):
    id: int
    name: str
    display_name: str
    created_at: int
    last_status_at: int | None
    trendable: SqlBool | None


class StatusTagRow(TypedDict):
    status_id: int
    tag_id: int


class TagFollowRow(TypedDict):
    id: int
    account_id: int
    tag_id: int
    created_at: int


class FavouriteRow(TypedDict):
    id: int
    account_id: int
    status_id: int
    uri: str | None
    created_at: int


class BookmarkRow(TypedDict):
    id: int
    account_id: int
    status_id: int
    created_at: int


class StatusPinRow(TypedDict):
    id: int
    account_id: int
    status_id: int
    created_at: int


class StatusEditRow(TypedDict):
    id: int
    status_id: int
    account_id: int
    text: str
    content: str
    spoiler_text: str
    sensitive: SqlBool
    created_at: int


class IdempotencyKeyRow(TypedDict):
    account_id: int
    key: str
    status_id: int
    created_at: int


class BlockRow(TypedDict):
    id: int
    account_id: int
    target_account_id: int
    uri: str | None
    created_at: int


class MuteRow(TypedDict):
    id: int
    account_id: int
    target_account_id: int
    hide_notifications: SqlBool
    expires_at: int | None
    created_at: int


class AccountNoteRow(TypedDict):
    account_id: int
    target_account_id: int
    comment: str
    updated_at: int


class AccountPinRow(TypedDict):
    id: int
    account_id: int
    target_account_id: int
    created_at: int


class ListRow(TypedDict):
    id: int
    account_id: int
    title: str
    replies_policy: str
    exclusive: SqlBool
    created_at: int


class ListAccountRow(TypedDict):
    id: int
    list_id: int
    account_id: int


class MarkerRow(TypedDict):
    account_id: int
    timeline: str
    last_read_id: int
    version: int
    updated_at: int


class OutboxRow(TypedDict):
    id: int
    event: str
    account_id: int
    object_id: int | None
    payload: str  # JSON
    created_at: int
    dispatched_at: int | None


class MediaAttachmentRow(TypedDict):
    id: int
    account_id: int
    status_id: int | None
    type: str
    processing: str
    file_key: str | None
    preview_key: str | None
    thumbnail_key: str | None
    remote_url: str | None
    preview_remote_url: str | None
    description: str | None
    focus_x: float | None
    focus_y: float | None
    meta: JsonObject
    blurhash: str | None
    thumbnail_blurhash: str | None
    file_size: int | None
    error: str | None
    created_at: int
    updated_at: int
    cached_at: int | None
    cached_bytes: int | None
    thumbnail_meta: JsonObject | None


class MediaUploadRow(TypedDict):
    attachment_id: int
    data: bytes
    created_at: int
    file_key: str | None


class DeliveryFailureRow(TypedDict):
    domain: str
    day: str


class UnavailableDomainRow(TypedDict):
    domain: str
    since: int


class WebPushSubscriptionRow(TypedDict):
    id: int
    access_token_id: int
    account_id: int
    endpoint: str
    key_p256dh: str
    key_auth: str
    standard: bool
    alerts: dict[str, bool]
    policy: str
    created_at: int
    updated_at: int


class StreamPayloadRow(TypedDict):
    id: int
    channel: str
    event: str
    payload: str
    created_at: int


class NotificationRow(TypedDict):
    id: int
    account_id: int
    from_account_id: int
    type: str
    status_id: int | None
    report_id: int | None
    group_key: str
    created_at: int
    filtered: SqlBool
    mailed_at: int | None


class ReportRow(TypedDict):
    id: int
    account_id: int
    target_account_id: int
    status_ids: list[int]
    rule_ids: list[int]
    category: str
    comment: str
    forwarded: SqlBool
    uri: str | None
    action_taken_at: int | None
    action_taken_by_account_id: int | None
    created_at: int
    updated_at: int
    assigned_account_id: int | None


class DomainBlockRow(TypedDict):
    id: int
    domain: str
    severity: str
    reject_media: SqlBool
    reject_reports: SqlBool
    private_comment: str
    public_comment: str
    obfuscate: SqlBool
    created_at: int
    updated_at: int


class AnnouncementRow(TypedDict):
    id: int
    text: str
    content: str
    starts_at: int | None
    ends_at: int | None
    all_day: SqlBool
    published_at: int | None
    created_at: int
    updated_at: int


class AnnouncementDismissalRow(TypedDict):
    announcement_id: int
    account_id: int


class AnnouncementReactionRow(TypedDict):
    id: int
    announcement_id: int
    account_id: int
    name: str
    custom_emoji_id: int | None
    created_at: int


class InboxActivityRow(TypedDict):
    uri: str
    actor_uri: str
    received_at: int


class StatusTombstoneRow(TypedDict):
    uri: str
    account_id: int | None
    created_at: int


class NotificationPolicyRow(TypedDict):
    account_id: int
    for_not_following: str
    for_not_followers: str
    for_new_accounts: str
    for_private_mentions: str
    for_limited_accounts: str
    updated_at: int


class NotificationRequestRow(TypedDict):
    id: int
    account_id: int
    from_account_id: int
    last_status_id: int | None
    created_at: int
    updated_at: int


class NotificationPermissionRow(TypedDict):
    account_id: int
    from_account_id: int
    created_at: int


class PollRow(TypedDict):
    id: int
    account_id: int
    status_id: int
    options: list[str]
    cached_tallies: list[int]
    multiple: bool
    hide_totals: bool
    votes_count: int
    voters_count: int | None
    expires_at: int | None
    ended_at: int | None
    last_fetched_at: int | None
    created_at: int
    updated_at: int


class PollVoteRow(TypedDict):
    id: int
    poll_id: int
    account_id: int
    choice: int
    uri: str | None
    created_at: int


class CustomFilterRow(TypedDict):
    id: int
    account_id: int
    title: str
    context: list[str]
    action: str
    expires_at: int | None
    created_at: int
    updated_at: int


class CustomFilterKeywordRow(TypedDict):
    id: int
    filter_id: int
    keyword: str
    whole_word: SqlBool
    created_at: int
    updated_at: int


class CustomFilterStatusRow(TypedDict):
    id: int
    filter_id: int
    status_id: int
    created_at: int


class ScheduledStatusRow(TypedDict):
    id: int
    account_id: int
    scheduled_at: int
    params: JsonObject
    application_id: int | None
    idempotency_key: str | None
    created_at: int


class ScheduledStatusMediaRow(TypedDict):
    scheduled_status_id: int
    media_attachment_id: int
    position: int


class AccountDomainBlockRow(TypedDict):
    id: int
    account_id: int
    domain: str
    created_at: int


class SuggestionDismissalRow(TypedDict):
    account_id: int
    target_account_id: int
    created_at: int


class FeaturedTagRow(TypedDict):
    id: int
    account_id: int
    tag_id: int
    created_at: int


class UserRecoveryCodeRow(TypedDict):
    id: int
    user_id: int
    code_hash: str
    used_at: int | None
    created_at: int


class WebauthnCredentialRow(TypedDict):
    id: int
    user_id: int
    nickname: str
    credential_id: str
    public_key: str
    sign_count: int
    created_at: int
    last_used_at: int | None


class WeeklyLoginRow(TypedDict):
    week_start: int
    account_id: int


class TermsOfServiceRow(TypedDict):
    id: int
    effective_date: str
    content: str
    changelog: str
    created_at: int
    updated_at: int
    notification_sent_at: int | None
    notified_through: int


class UserMailRow(TypedDict):
    user_id: int
    account_id: int
    email: str
    username: str


class NameCountRow(TypedDict):
    name: str
    uses: int


class CollectionRow(TypedDict):
    id: int
    account_id: int
    name: str
    description: str
    language: str | None
    sensitive: SqlBool
    discoverable: SqlBool
    tag_id: int | None
    local: SqlBool
    uri: str | None
    url: str | None
    created_at: int
    updated_at: int


class CollectionItemRow(TypedDict):
    id: int
    collection_id: int
    account_id: int | None
    state: str
    position: int
    uri: str | None
    approval_uri: str | None
    created_at: int
    updated_at: int


class AnnualReportRow(TypedDict):
    id: int
    account_id: int
    year: int
    state: str
    schema_version: int
    data: str | None
    viewed_at: int | None
    created_at: int
    updated_at: int


class ImportRow(TypedDict):
    id: int
    account_id: int
    type: str
    mode: str
    filename: str
    state: str
    total_rows: int
    done_rows: int
    failed_rows: int
    created_at: int
    finished_at: int | None


class ImportRowRow(TypedDict):
    import_id: int
    position: int
    data: str
    state: str
    attempts: int
    error: str | None
    next_at: int
    claimed_until: int | None


class AccountArchiveRow(TypedDict):
    id: int
    account_id: int
    state: str
    file_key: str | None
    size: int
    created_at: int
    ready_at: int | None
    expires_at: int | None


class AdminActionLogRow(TypedDict):
    id: int
    account_id: int | None
    action: str
    target_type: str
    target_id: int | None
    human_identifier: str
    created_at: int


class AccountWarningRow(TypedDict):
    id: int
    account_id: int | None
    target_account_id: int
    action: str
    text: str
    report_id: int | None
    created_at: int


class DomainAllowRow(TypedDict):
    id: int
    domain: str
    created_at: int
    updated_at: int


class EmailDomainBlockRow(TypedDict):
    id: int
    domain: str
    parent_id: int | None
    allow_with_approval: SqlBool
    created_at: int
    updated_at: int


class IpBlockRow(TypedDict):
    id: int
    ip: str
    severity: str
    comment: str
    expires_at: int | None
    created_at: int
    updated_at: int


class CanonicalEmailBlockRow(TypedDict):
    id: int
    canonical_email_hash: str
    reference_account_id: int | None
    created_at: int
    updated_at: int


class DeliveryCountRow(TypedDict):
    day: int
    domain: str
    delivered: int
    failed: int


class PreviewCardProviderRow(TypedDict):
    id: int
    domain: str
    trendable: SqlBool | None
    reviewed_at: int | None
    requested_review_at: int | None
    created_at: int
    updated_at: int


class ActivityGapRow(TypedDict):
    day: int
    gap: int
    accounts: int


class JobQueueSampleRow(TypedDict):
    at: int
    pending: int
    retrying: int
    running: int
    parked: int


class DailyCounterRow(TypedDict):
    key: str
    day: int
    value: int


class DailyActivityRow(TypedDict):
    day: int
    account_id: int


#: Each table's TypedDict (the full-text index `status_search` differs by backend and is
#: never read whole).
class StatusTranslationRow(TypedDict):
    status_id: int
    language: str
    edition: int
    translation: str  # JSON: the Translation entity
    created_at: int


class WebhookRow(TypedDict):
    id: int
    url: str
    events: str  # JSON: the event names it wants
    secret: str
    enabled: SqlBool
    created_at: int
    updated_at: int


class ScheduledRunRow(TypedDict):
    name: str
    due_at: int


class RelayRow(TypedDict):
    id: int
    inbox_url: str
    style: str  # mastodon | litepub
    actor_uri: str | None
    follow_activity_id: str
    state: str  # pending | accepted | rejected
    created_at: int
    updated_at: int


TABLES: dict[str, type] = {
    "scheduled_runs": ScheduledRunRow,
    "webhooks": WebhookRow,
    "relays": RelayRow,
    "status_translations": StatusTranslationRow,
    "schema_migrations": SchemaMigrationRow,
    "weekly_logins": WeeklyLoginRow,
    "terms_of_service": TermsOfServiceRow,
    "collections": CollectionRow,
    "collection_items": CollectionItemRow,
    "annual_reports": AnnualReportRow,
    "imports": ImportRow,
    "import_rows": ImportRowRow,
    "account_archives": AccountArchiveRow,
    "id_nodes": IdNodeRow,
    "accounts": AccountRow,
    "entity_epochs": EntityEpochRow,
    "preview_cards": PreviewCardRow,
    "home_feeds": HomeFeedRow,
    "home_feed_entries": HomeFeedEntryRow,
    "quotes": QuoteRow,
    "job_shared_payloads": JobSharedPayloadRow,
    "preview_card_links": PreviewCardLinkRow,
    "preview_cards_statuses": PreviewCardStatusRow,
    "keypairs": KeypairRow,
    "users": UserRow,
    "oauth_applications": OAuthApplicationRow,
    "oauth_access_tokens": OAuthAccessTokenRow,
    "oauth_access_grants": OAuthAccessGrantRow,
    "statuses": StatusRow,
    "follows": FollowRow,
    "follow_requests": FollowRequestRow,
    "jobs": JobRow,
    "instance_settings": InstanceSettingRow,
    "instance_rules": InstanceRuleRow,
    "web_sessions": WebSessionRow,
    "conversation_mutes": ConversationMuteRow,
    "account_conversations": AccountConversationRow,
    "mentions": MentionRow,
    "tags": TagRow,
    "statuses_tags": StatusTagRow,
    "tag_follows": TagFollowRow,
    "favourites": FavouriteRow,
    "bookmarks": BookmarkRow,
    "status_pins": StatusPinRow,
    "status_edits": StatusEditRow,
    "idempotency_keys": IdempotencyKeyRow,
    "blocks": BlockRow,
    "mutes": MuteRow,
    "account_notes": AccountNoteRow,
    "account_pins": AccountPinRow,
    "lists": ListRow,
    "list_accounts": ListAccountRow,
    "markers": MarkerRow,
    "outbox": OutboxRow,
    "media_attachments": MediaAttachmentRow,
    "media_uploads": MediaUploadRow,
    "delivery_failures": DeliveryFailureRow,
    "unavailable_domains": UnavailableDomainRow,
    "web_push_subscriptions": WebPushSubscriptionRow,
    "stream_payloads": StreamPayloadRow,
    "notifications": NotificationRow,
    "reports": ReportRow,
    "domain_blocks": DomainBlockRow,
    "custom_emojis": CustomEmojiRow,
    "announcements": AnnouncementRow,
    "announcement_dismissals": AnnouncementDismissalRow,
    "announcement_reactions": AnnouncementReactionRow,
    "inbox_activities": InboxActivityRow,
    "status_tombstones": StatusTombstoneRow,
    "notification_policies": NotificationPolicyRow,
    "notification_requests": NotificationRequestRow,
    "notification_permissions": NotificationPermissionRow,
    "polls": PollRow,
    "poll_votes": PollVoteRow,
    "custom_filters": CustomFilterRow,
    "custom_filter_keywords": CustomFilterKeywordRow,
    "custom_filter_statuses": CustomFilterStatusRow,
    "scheduled_statuses": ScheduledStatusRow,
    "scheduled_status_media": ScheduledStatusMediaRow,
    "account_domain_blocks": AccountDomainBlockRow,
    "suggestion_dismissals": SuggestionDismissalRow,
    "featured_tags": FeaturedTagRow,
    "user_recovery_codes": UserRecoveryCodeRow,
    "webauthn_credentials": WebauthnCredentialRow,
    "admin_action_logs": AdminActionLogRow,
    "account_warnings": AccountWarningRow,
    "domain_allows": DomainAllowRow,
    "email_domain_blocks": EmailDomainBlockRow,
    "ip_blocks": IpBlockRow,
    "canonical_email_blocks": CanonicalEmailBlockRow,
    "daily_counters": DailyCounterRow,
    "daily_activity": DailyActivityRow,
    "delivery_counts": DeliveryCountRow,
    "job_queue_samples": JobQueueSampleRow,
    "activity_gaps": ActivityGapRow,
    "preview_card_providers": PreviewCardProviderRow,
}


# Views: a table's columns plus what a query joins in ------------------------------------------


class RemoteActorKeyRow(TypedDict):
    """A remote account by actor URI with its newest key (None when it publishes none)."""

    account_id: int
    uri: str
    domain: str
    key_id: str | None
    public_key_pem: str | None


class StatusCardRow(PreviewCardRow):
    """The card a status shows (`statuses.hydrate`)."""

    status_id: int


class LinkUseRow(TypedDict):
    """A status that counts towards a link's trend."""

    card_id: int
    account_id: int
    created_at: int


class IdRow(TypedDict):
    """`RETURNING id`."""

    id: int


class AccountPageRow(AccountRow):
    """An account in a list paged by another table's id (a follow, a block...)."""

    page_id: int


class MutedAccountPageRow(AccountPageRow):
    mute_expires_at: int | None


class SuggestedAccountRow(AccountRow):
    mutuals: int


class ActorRow(AccountRow):
    """An account with its newest public key."""

    public_key_pem: str


class AdminAccountRow(AccountRow):
    """An account as the admin API shows it: the user's columns, None for remote accounts."""

    user_id: int | None
    email: str | None
    role: str | None
    approved: SqlBool | None
    disabled: SqlBool | None
    confirmed_at: int | None
    locale: str | None
    sign_up_reason: str | None
    sign_up_ip: str | None


class AccountWithUserRow(AccountRow):
    """A local account with its user's standing."""

    user_id: int
    email: str
    role: str
    approved: SqlBool
    disabled: SqlBool
    confirmed_at: int | None


class PublicKeyRow(TypedDict):
    """A known public key with its owner's URI, domain and standing."""

    keypair_id: int
    key_id: str
    public_key_pem: str
    account_id: int
    uri: str
    domain: str | None
    suspended_at: int | None
    last_fetched_at: int | None


class AcctRow(TypedDict):
    username: str
    domain: str | None


class DeliveryAccountRow(AcctRow):
    """An account as delivery needs it (`domain` None: a local one)."""

    id: int
    uri: str
    url: str | None
    inbox_url: str | None
    shared_inbox_url: str | None
    suspended_at: int | None


class MentionedAccountRow(AcctRow):
    """An account a status mentions, as its Mention entity shows it."""

    status_id: int
    id: int
    url: str | None
    uri: str


class InboxRow(TypedDict):
    inbox: str


class FollowerInboxRow(InboxRow):
    domain: str


class UserAccountRow(TypedDict):
    """A user with its account's name and standing (sign-in, settings)."""

    user_id: int
    account_id: int
    email: str
    password_hash: str | None
    role: str
    confirmed_at: int | None
    approved: SqlBool
    disabled: SqlBool
    locale: str
    settings: str
    user_created_at: int
    username: str
    suspended_at: int | None


class UserWithUsernameRow(UserRow):
    username: str


class SignUpRow(TypedDict):
    user_id: int
    email: str
    sign_up_reason: str
    confirmed_at: int | None
    created_at: int
    account_id: int
    username: str


class AccountListingRow(TypedDict):
    """An account as the moderation list shows it (the user's columns None for remote
    accounts)."""

    id: int
    username: str
    domain: str | None
    display_name: str
    suspended_at: int | None
    silenced_at: int | None
    statuses_count: int
    created_at: int
    role: str | None
    email: str | None
    approved: SqlBool | None


class SessionAccountRow(TypedDict):
    """The signed-in account of a web session, with the user's standing."""

    session_id: int
    account_id: int
    last_seen_at: int
    role: str
    approved: SqlBool
    disabled: SqlBool
    confirmed_at: int | None
    username: str
    suspended_at: int | None


class LiveSessionRow(TypedDict):
    id: int
    user_agent: str
    ip: str
    created_at: int
    last_seen_at: int


class DigestUserRow(TypedDict):
    """A user a digest may be due for."""

    user_id: int
    account_id: int
    email: str
    settings: str
    last_sign_in_at: int | None
    last_emailed_at: int | None


class OtpStateRow(TypedDict):
    id: int
    otp_secret: str | None
    otp_enabled_at: int | None
    otp_last_step: int | None


class TokenWithUsernameRow(OAuthAccessTokenRow):
    username: str | None


class TokenAuthRow(TypedDict):
    """A live token with its user's standing (the user's columns None for an app token or
    the instance actor)."""

    id: int
    application_id: int | None
    account_id: int | None
    scopes: str
    created_at: int
    last_used_at: int | None
    user_id: int | None
    role: str | None
    approved: SqlBool | None
    disabled: SqlBool | None
    confirmed_at: int | None
    suspended_at: int | None


class TakenGrantRow(OAuthAccessGrantRow):
    #: Whether the code had been used already (a replay: its tokens are to be revoked).
    reused: bool


class AuthorizedApplicationRow(TypedDict):
    id: int
    name: str
    website: str | None
    authorized_at: int
    last_used_at: int | None
    tokens: int


class ApplicationNameRow(TypedDict):
    id: int
    name: str
    website: str | None


class StatusPageRow(StatusRow):
    """A status in a list paged by another table's id (favourites, bookmarks)."""

    page_id: int


class TagNameRow(TypedDict):
    name: str
    display_name: str


class StatusTagNameRow(TagNameRow):
    status_id: int


class TagPageRow(TagRow):
    page_id: int


class TagUsesRow(TagRow):
    uses: int


class TrendingTagRow(TagUsesRow):
    accounts: int


class TagUseRow(TypedDict):
    """One use of a tag in a status."""

    created_at: int
    account_id: int


class FeaturedTagViewRow(TypedDict):
    """A featured tag with its names and the account's use of it."""

    id: int
    account_id: int
    tag_id: int
    name: str
    display_name: str
    statuses_count: int
    last_status_at: int | None


class DomainPageRow(TypedDict):
    domain: str
    page_id: int


class FollowPairRow(TypedDict):
    """A follow (`kind` follow) or follow request (`kind` request) between two accounts."""

    kind: str
    account_id: int
    target_account_id: int


class BlockerRow(TypedDict):
    """A local account that blocks (`kind` block) or mutes (`kind` mute) another."""

    account_id: int
    kind: str
    hide_notifications: SqlBool


class NoteTextRow(TypedDict):
    account_id: int
    comment: str


class ExportAccountRow(AcctRow):
    """An account one of an account's relationships names, for its CSV exports: `id` is
    the relationship's (the key the export pages by), `account_id` the named account's."""

    id: int
    account_id: int


class FollowExportRow(ExportAccountRow):
    show_reblogs: SqlBool
    notify: SqlBool
    languages: str | None


class MuteExportRow(ExportAccountRow):
    hide_notifications: SqlBool


class DomainExportRow(TypedDict):
    id: int
    domain: str


class BookmarkExportRow(TypedDict):
    id: int
    status_id: int
    uri: str
    url: str | None


class ListExportRow(ExportAccountRow):
    list_id: int
    title: str


class FollowFacts(TypedDict):
    """Follows and requests between a viewer and some accounts, by the other account."""

    following: dict[int, FollowRow]
    followed_by: dict[int, FollowRow]
    requested: dict[int, FollowRequestRow]
    requested_by: dict[int, FollowRequestRow]


class BlockAndMuteFacts(TypedDict):
    """Blocks both ways and the viewer's live mutes, by the other account."""

    blocking: dict[int, BlockRow]
    blocked_by: dict[int, BlockRow]
    muting: dict[int, MuteRow]


class KeywordWithFilterRow(CustomFilterKeywordRow):
    """A keyword with its filter's columns (the v1 filter view)."""

    account_id: int
    title: str
    context: list[str]
    action: str
    expires_at: int | None


class FilterStatusWithOwnerRow(CustomFilterStatusRow):
    account_id: int


class ReportWithNamesRow(ReportRow):
    """A report with the acct parts and standing of both accounts (the admin list)."""

    reporter_username: str
    reporter_domain: str | None
    target_username: str
    target_domain: str | None
    target_suspended_at: int | None
    target_silenced_at: int | None


class ReactionCountRow(TypedDict):
    """One reaction to an announcement: how many, whether the viewer reacted so, and the
    custom emoji's files (None for a Unicode emoji)."""

    announcement_id: int
    name: str
    count: int
    first_id: int
    mine: int
    image_key: str | None
    static_image_key: str | None


class NotificationGoneRow(TypedDict):
    """A deleted notification: its sender, and whether it was filtered."""

    id: int
    from_account_id: int
    filtered: SqlBool


class NotificationLossRow(TypedDict):
    """A notification deleted with its status: who lost it, from whom, filtered or not."""

    account_id: int
    from_account_id: int
    filtered: SqlBool


class SenderFactsRow(TypedDict):
    """What the notification policy asks about a sender (the subqueries 1 or None)."""

    created_at: int
    silenced_at: int | None
    domain: str | None
    following: int | None
    follower_since: int | None
    permitted: int | None


class GroupStatsRow(TypedDict):
    count: int
    max_id: int | None
    min_id: int | None


class GroupSampleRow(TypedDict):
    id: int
    from_account_id: int
    created_at: int


class RuleRow(TypedDict):
    id: int
    text: str
    hint: str


class ClaimedJobRow(TypedDict):
    id: int
    kind: str
    payload: JsonObject
    attempts: int
    max_attempts: int


class JobKindCountsRow(TypedDict):
    kind: str
    pending: int
    retrying: int
    running: int
    parked: int


class ParkedJobRow(TypedDict):
    id: int
    kind: str
    attempts: int
    last_error: str | None
    updated_at: int


class CachedSizeRow(TypedDict):
    id: int
    cached_bytes: int | None


class RemoteImageRow(TypedDict):
    """One image of a remote account (avatar, header) or custom emoji, and its cached copy."""

    id: int
    domain: str | None
    key: str | None
    remote_url: str | None
    cached_url: str | None


class CachedImageRow(TypedDict):
    """A row whose remote image has a copy cached here, and the copy's key."""

    id: int
    key: str | None


class ParkedPayloadRow(TypedDict):
    channel: str
    event: str
    payload: str


class AudienceStatusRow(TypedDict):
    id: int
    account_id: int
    visibility: str
    local: SqlBool
    reblog_of_id: int | None


class StatusAudience(TypedDict):
    """Who a status reaches live."""

    status: AudienceStatusRow
    followers: list[int]
    mentioned: list[int]
    tags: list[str]
    with_media: bool  # whether it has attachments (the `:media` public streams)
