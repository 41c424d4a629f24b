"""Staff roles and their permission bits, as Mastodon's `UserRole`.

Three built-in roles, as a fresh Mastodon has them: Moderator (position 10), Admin (100)
and Owner (1000, every permission through `administrator`). A role may act on an account
only when it outranks the account's own role (`UserRole#overrides?`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Mastodon's UserRole::FLAGS.
ADMINISTRATOR = 1 << 0
VIEW_DEVOPS = 1 << 1
VIEW_AUDIT_LOG = 1 << 2
VIEW_DASHBOARD = 1 << 3
MANAGE_REPORTS = 1 << 4
MANAGE_FEDERATION = 1 << 5
MANAGE_SETTINGS = 1 << 6
MANAGE_BLOCKS = 1 << 7
MANAGE_TAXONOMIES = 1 << 8
MANAGE_APPEALS = 1 << 9
MANAGE_USERS = 1 << 10
MANAGE_INVITES = 1 << 11
MANAGE_RULES = 1 << 12
MANAGE_ANNOUNCEMENTS = 1 << 13
MANAGE_CUSTOM_EMOJIS = 1 << 14
MANAGE_WEBHOOKS = 1 << 15
INVITE_USERS = 1 << 16
MANAGE_ROLES = 1 << 17
MANAGE_USER_ACCESS = 1 << 18
DELETE_USER_DATA = 1 << 19
VIEW_FEEDS = 1 << 20

# Mastodon's config/roles.yml.
MODERATOR_PERMISSIONS = (
    VIEW_DASHBOARD | VIEW_AUDIT_LOG | MANAGE_USERS | MANAGE_REPORTS | MANAGE_TAXONOMIES
)
ADMIN_PERMISSIONS = (
    MODERATOR_PERMISSIONS
    | MANAGE_USER_ACCESS
    | DELETE_USER_DATA
    | MANAGE_FEDERATION
    | MANAGE_BLOCKS
    | MANAGE_SETTINGS
    | MANAGE_RULES
    | MANAGE_ANNOUNCEMENTS
    | MANAGE_CUSTOM_EMOJIS
    | MANAGE_WEBHOOKS
    | MANAGE_INVITES
    | MANAGE_ROLES
    | MANAGE_APPEALS
    | VIEW_DEVOPS
)


@dataclass(frozen=True)
class Role:
    """A built-in role: Mastodon's id, name, position and permission bits."""

    key: str
    id: str
    name: str
    position: int
    permissions: int

    def can(self, permission: int) -> bool:
        """Whether the role holds `permission` (`administrator` holds every one)."""
        return bool(self.permissions & ADMINISTRATOR) or bool(self.permissions & permission)

    def overrides(self, other: Role) -> bool:
        """Whether the role may act on someone holding `other` (a higher position)."""
        return self.position > other.position

    @property
    def staff(self) -> bool:
        return self.permissions != 0


# Mastodon's everyone role has id -99; the built-in ones are created in this order.
ROLES: dict[str, Role] = {
    "user": Role("user", "-99", "", -1, 0),
    "moderator": Role("moderator", "1", "Moderator", 10, MODERATOR_PERMISSIONS),
    "admin": Role("admin", "2", "Admin", 100, ADMIN_PERMISSIONS),
    "owner": Role("owner", "3", "Owner", 1000, ADMINISTRATOR),
}
STAFF_ROLES = ("moderator", "admin", "owner")
ADMIN_ROLES = ("admin", "owner")


def role(key: str | None) -> Role:
    """The role named `key` (a user's effective role); plain users' for anything else."""
    return ROLES.get(key or "user", ROLES["user"])


def can(key: str | None, permission: int) -> bool:
    """Whether the role named `key` holds `permission`."""
    return role(key).can(permission)
