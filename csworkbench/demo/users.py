"""The demo's people: one user per role, with the page each lands on."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from csworkbench.core.roles import Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    group: str
    landing: str
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@csworkbench.example".lower()


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("csm", "Alice", "Chen", Role.CSM, "/queue/"),
    DemoUser("csm2", "Bob", "Lin", Role.CSM, "/queue/"),
    DemoUser("manager", "Maria", "Wang", Role.MANAGER, "/plans/approvals/", is_staff=True),
    DemoUser("interviewer", "Ivan", "Huang", Role.INTERVIEWER, "/interviews/"),
    DemoUser("admin", "Grace", "Liu", Role.ADMIN, "/accounts/", is_staff=True, is_superuser=True),
)


def ensure_demo_users(password: str) -> dict[str, Any]:
    """Create or update the demo users in place, so reseeding never changes their ids."""
    user_model = get_user_model()
    users: dict[str, Any] = {}
    for demo in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=demo.group)
        user, _ = user_model.objects.get_or_create(username=demo.username)
        user.first_name, user.last_name, user.email = demo.first_name, demo.last_name, demo.email
        user.is_active, user.is_staff, user.is_superuser = True, demo.is_staff, demo.is_superuser
        user.set_password(password)
        user.save()
        user.groups.set([group])
        users[demo.username] = user
    return users
