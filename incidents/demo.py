"""Demo incidents: reference data and ~300 incidents over the last 90 days, told as a story.

Reference data: a two-level category tree, intake scripts (one answer leads to a known fix), routing
rules to the demo support groups, a few more colleagues (callers and agents; they cannot sign in).
Incidents: every status (on hold with each reason), priorities from the matrix, callers from the
demo end users, assignments, escalations (functional, hierarchical, to a supplier), reopenings,
public comments and work notes; plus the scenarios a demo needs: a running major incident with its
swarm, stakeholder updates and child incidents, a resolved major incident with its post-incident
review, a merged duplicate, a security incident, and ``enduser``'s own incidents (one resolved and
awaiting confirmation) and ``agent``'s work.

Everything is written through ``incidents.services`` so that history, timeline, status periods and
hops are real. The story needs the past, and the services write "now": each step marks the time it
happens in the story (``_Clock.at``), and at the end every timestamp written during a step is moved
by that step's offset in one ``UPDATE`` per column (``width_bucket`` over the steps' start times).

Idempotent: reference data is matched by name; the incidents are loaded only when the running major
incident of the story is not there yet. Run after the people and CMDB demos (CIs looked up by name;
a missing CI is simply left out).
"""

from __future__ import annotations

import bisect
import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from configuration.models import CIClass, ConfigurationItem
from incidents import services
from incidents.choices import Channel, ConfirmationState, HoldReason, HopKind, QuestionKind, Status
from incidents.choices import ResolutionCode as Code
from incidents.models import Category, Incident, IntakeQuestion, PostIncidentReview, RoutingRule
from itsm import roles
from itsm.models import ChangeRecord, Notification
from people.models import Organisation, Supplier, SupportGroup, User

SEED = 20261127
DAYS = 90
DESK, INFRA, APPS = "Service desk", "Infrastructure (2nd line)", "Business applications"
MAJOR_TITLE = "Online shop checkout fails: payment page times out"

# -- reference data -------------------------------------------------------------------------------

CATEGORIES: dict[str, list[str]] = {
    "Hardware": ["Laptop", "Desktop", "Printer", "Monitor and peripherals"],
    "Software": ["Office", "ERP", "Browser"],
    "Network": ["VPN", "Wi-Fi", "LAN"],
    "Access": ["Password reset", "Permissions", "Account locked"],
    "E-mail": ["Mailbox", "Delivery", "Calendar"],
    "Database": ["Performance", "Connectivity"],
    "Business application": ["Online shop", "Payroll", "Customer portal"],
    "Security": ["Phishing", "Malware", "Lost or stolen device"],
}

VPN_FIX = (
    "Update the VPN client from the software centre (Software Centre › Network › GlobalProtect), "
    "restart the laptop and connect again."
)
RESET_FIX = "Reset it yourself at https://login.example.com/reset with your phone number; it takes a minute."
WIFI_FIX = 'Forget the "Corp" network on the device, join it again and sign in with your usual account.'

# (category, subcategory or None, order, text, kind, choices, required, fix on answer, fix)
QUESTIONS = [
    ("Network", "VPN", 10, "Are you on the latest VPN client?", QuestionKind.YES_NO, [], True, "no", VPN_FIX),
    (
        "Network",
        "VPN",
        20,
        "Where are you working from?",
        QuestionKind.CHOICE,
        ["Home", "Office", "Hotel or travelling", "Customer site"],
        False,
        "",
        "",
    ),
    ("Network", "VPN", 30, "What does the error message say?", QuestionKind.TEXT, [], False, "", ""),
    (
        "Network",
        "Wi-Fi",
        10,
        'Have you forgotten and re-joined the "Corp" network?',
        QuestionKind.YES_NO,
        [],
        True,
        "no",
        WIFI_FIX,
    ),
    (
        "Network",
        "Wi-Fi",
        20,
        "Which network?",
        QuestionKind.CHOICE,
        ["Corp", "Corp-Guest", "Corp-IoT"],
        False,
        "",
        "",
    ),
    (
        "Access",
        "Password reset",
        10,
        "Have you tried the self-service password reset?",
        QuestionKind.YES_NO,
        [],
        True,
        "no",
        RESET_FIX,
    ),
    ("Access", "Password reset", 20, "Is your account locked?", QuestionKind.YES_NO, [], False, "", ""),
    ("Hardware", "Printer", 10, "Printer name or asset tag", QuestionKind.TEXT, [], True, "", ""),
    ("Hardware", "Printer", 20, "Are colleagues affected too?", QuestionKind.YES_NO, [], False, "", ""),
    (
        "E-mail",
        None,
        10,
        "Who is affected?",
        QuestionKind.CHOICE,
        ["Only me", "My team", "Everyone I know"],
        True,
        "",
        "",
    ),
    (
        "E-mail",
        None,
        20,
        "Outlook or webmail?",
        QuestionKind.CHOICE,
        ["Outlook", "Webmail", "Phone", "All of them"],
        False,
        "",
        "",
    ),
]

# (order, name, group, condition): condition is category "Cat" / "Cat › Sub", service name, CI class
# slug, or keywords.
ROUTING = [
    (10, "Payroll service", APPS, {"service": "Payroll"}),
    (20, "Online shop service", APPS, {"service": "Online shop"}),
    (30, "Customer portal service", APPS, {"service": "Customer support portal"}),
    (40, "Business applications", APPS, {"category": "Business application"}),
    (50, "ERP software", APPS, {"category": "Software › ERP"}),
    (60, "Databases", INFRA, {"category": "Database"}),
    (70, "Database CIs", INFRA, {"ci_class": "database"}),
    (80, "Network", INFRA, {"category": "Network"}),
    (90, "Security", INFRA, {"category": "Security"}),
    (100, "Outages", INFRA, {"keywords": "outage, down for everyone, unreachable"}),
    (200, "Hardware to the desk", DESK, {"category": "Hardware"}),
    (210, "Access to the desk", DESK, {"category": "Access"}),
    (220, "E-mail to the desk", DESK, {"category": "E-mail"}),
    (230, "Software to the desk", DESK, {"category": "Software"}),
]

# Colleagues the story needs besides the people demo's: (username, first, last, role, groups, org).
STAFF = [
    ("priya", "Priya", "Patel", roles.AGENT, [DESK], "it"),
    ("tom", "Tom", "Becker", roles.AGENT, [INFRA], "it"),
    ("dana", "Dana", "Kowalski", roles.AGENT, [INFRA], "it"),
    ("li", "Li", "Wei", roles.AGENT, [APPS], "it"),
    ("sofia", "Sofia", "Reyes", roles.SECURITY, [INFRA], "it"),
]
CALLERS = [
    ("noah", "Noah", "Fischer", "fin"),
    ("amira", "Amira", "Haddad", "sales"),
    ("lukas", "Lukas", "Berg", "fin"),
    ("chloe", "Chloé", "Martin", "sales"),
    ("ravi", "Ravi", "Iyer", "it"),
    ("marta", "Marta", "Costa", "sales"),
]
# Who the random incidents are raised by (weights); enduser gets its own scenarios besides.
CALLER_WEIGHTS = {
    "fiona": 14,
    "sam": 14,
    "sasha": 12,
    "noah": 10,
    "amira": 10,
    "lukas": 9,
    "chloe": 9,
    "ravi": 8,
    "marta": 8,
    "enduser": 4,
}
# Who works a group's incidents (weights): the demo agent gets a good share of the desk's.
WORKERS = {
    DESK: {"agent": 3, "priya": 2},
    INFRA: {"tom": 3, "dana": 2, "agent": 1},
    APPS: {"li": 3, "manager": 1},
}


# -- the incidents people raise -------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of incident that recurs: how it is raised, who solves it and how."""

    category: str
    subcategory: str | None
    group: str  # the group that solves it
    short: str
    description: str
    resolution: str
    code: str = Code.SOLVED_PERMANENTLY
    service: str | None = None
    cis: tuple[str, ...] = ()
    impact: int = 4
    urgency: int = 3
    answers: dict[str, str] = field(default_factory=dict)  # question text -> answer
    note: str = ""  # the solver's work note


KINDS = [
    Kind("Hardware", "Laptop", DESK, "Laptop will not start after the Windows update",
         "The laptop shows the manufacturer logo and then a black screen since this morning's update.",
         "Rolled back the failed update from recovery mode; the laptop starts normally again.",
         note="Booted into recovery, KB update failed to apply; rolled back and paused updates for 7 days."),
    Kind("Hardware", "Laptop", DESK, "Laptop battery drains within an hour",
         "Fully charged at 9:00, empty by 10:00. The laptop also gets very hot.",
         "Battery failed the health check; replaced under warranty.", urgency=3,
         note="Battery health 41% in the diagnostics; ordered a replacement under warranty."),
    Kind("Hardware", "Laptop", DESK, "Keyboard keys not responding on laptop",
         "The E, R and T keys do nothing; an external keyboard works.",
         "Keyboard replaced by the hardware partner.", urgency=4),
    Kind("Hardware", "Desktop", DESK, "Desktop PC very slow to log in",
         "Logging in takes more than ten minutes; after that it is fine.",
         "Roaming profile was 9 GB; cleaned it and enabled folder redirection.",
         note="Profile size 9.2 GB (downloads and teams cache)."),
    Kind("Hardware", "Printer", DESK, "Printer on floor 2 prints blank pages",
         "Every job comes out blank; the printer shows no error.",
         "Toner cartridge was empty but misreported; replaced it.", cis=(),
         answers={"Printer name or asset tag": "PRN-LDN-F2-01", "Are colleagues affected too?": "yes"}),
    Kind("Hardware", "Printer", DESK, "Paper jam error on the finance printer that will not clear",
         "The display says paper jam in tray 2, but there is no paper stuck anywhere.",
         "A torn scrap was stuck behind the fuser; removed it and reset the printer.",
         answers={"Printer name or asset tag": "PRN-LDN-F3-02", "Are colleagues affected too?": "yes"}),
    Kind("Hardware", "Printer", DESK, "Cannot print to the Paris office printer",
         "Jobs stay in the queue with the status 'error - printing'.",
         "Printer had a new IP address after a power cut; reserved the address and re-added the queue.",
         answers={"Printer name or asset tag": "PRN-PAR-01", "Are colleagues affected too?": "no"}),
    Kind("Hardware", "Monitor and peripherals", DESK, "Second monitor not detected after docking",
         "When I put the laptop in the dock the external monitor stays black.",
         "Updated the dock firmware and the display driver.", urgency=4),
    Kind("Hardware", "Monitor and peripherals", DESK, "Headset microphone not working in calls",
         "People cannot hear me in calls with the USB headset; the laptop microphone works.",
         "The headset was muted in the sound settings' privacy section; re-enabled it.",
         code=Code.USER_ERROR, urgency=4),
    Kind("Software", "Office", DESK, "Excel crashes when opening the monthly payroll export",
         "Excel closes without any message when I open the CSV export from the payroll system.",
         "Repaired the Office installation and disabled the broken third-party add-in.",
         note="Faulting module: an old PDF add-in. Disabled it and ran a quick repair."),
    Kind("Software", "Office", DESK, "Outlook add-in for meeting rooms missing",
         "The room booking button disappeared from Outlook.",
         "Re-deployed the add-in from the admin centre.", urgency=4),
    Kind("Software", "Office", DESK, "Word documents open read-only from the shared drive",
         "Every document on the Finance share opens read-only, even ones I created.",
         "Cleared stale lock files on the share.", urgency=3),
    Kind("Software", "ERP", APPS, "Payroll export to the bank fails with a format error",
         "The SEPA export stops at 'validation failed: invalid creditor reference'.",
         "Corrected the creditor reference in the payroll configuration and re-ran the export.",
         service="Payroll", cis=("PayFlow payroll",), impact=2, urgency=2,
         note="Creditor reference had a trailing space since last week's config change."),
    Kind("Software", "ERP", APPS, "Payslips show the wrong tax code for new starters",
         "Three new starters this month have the emergency tax code on their payslips.",
         "Applied the HMRC starter declarations and recalculated the three payslips.",
         service="Payroll", cis=("PayFlow payroll",), impact=3, urgency=2),
    Kind("Software", "Browser", DESK, "Intranet pages show a certificate warning in the browser",
         "Chrome says the connection is not private for the intranet.",
         "Re-pushed the internal root certificate with group policy.", urgency=4),
    Kind("Network", "VPN", INFRA, "VPN disconnects every few minutes when working from home",
         "The VPN connects, then drops after a few minutes, and again, all day.",
         "Updated the VPN client to the current version; the connection is stable now.",
         code=Code.KNOWN_ERROR,
         answers={"Are you on the latest VPN client?": "no", "Where are you working from?": "Home"}),
    Kind("Network", "VPN", INFRA, "Cannot connect to the VPN: authentication failed",
         "The VPN says 'authentication failed' although my password works everywhere else.",
         "The MFA token was out of sync; re-enrolled the authenticator app.",
         cis=("Keycloak",),
         answers={"Are you on the latest VPN client?": "yes", "Where are you working from?": "Hotel or travelling",
                  "What does the error message say?": "Authentication failed (code 12)"}),
    Kind("Network", "Wi-Fi", INFRA, "Wi-Fi keeps dropping in meeting room 3.14",
         "Laptops lose the Wi-Fi in meeting room 3.14 every few minutes.",
         "Replaced the faulty access point AP-LDN-3-07.", service="Network", impact=3, urgency=3,
         answers={'Have you forgotten and re-joined the "Corp" network?': "yes", "Which network?": "Corp"}),
    Kind("Network", "Wi-Fi", DESK, "Phone cannot join the corporate Wi-Fi",
         "My new phone says 'unable to join network Corp'.",
         "The caller re-joined the network following the known fix.", code=Code.SELF_HELP,
         answers={'Have you forgotten and re-joined the "Corp" network?': "no", "Which network?": "Corp"}),
    Kind("Network", "LAN", INFRA, "Network port at desk 2.41 is dead",
         "No network on the docking station at desk 2.41; other desks are fine.",
         "Re-patched the port in the floor cabinet.", cis=("core-sw-01",), urgency=4),
    Kind("Network", "LAN", INFRA, "Slow file transfers between Paris and London",
         "Copying files to the London file server takes ages since Monday.",
         "A duplex mismatch on the WAN router port; fixed the port settings.",
         service="Network", cis=("rtr-edge-01",), impact=3, urgency=3,
         note="Interface ge-0/0/3 half duplex after the router replacement; set it to auto/auto."),
    Kind("Access", "Password reset", DESK, "Password expired while travelling",
         "My password expired and I cannot reach the office network to change it.",
         "Reset the password by phone after identity check.",
         answers={"Have you tried the self-service password reset?": "yes", "Is your account locked?": "no"}),
    Kind("Access", "Password reset", DESK, "Forgot my password after holidays",
         "I cannot remember my password after two weeks away.",
         "The caller reset it with the self-service reset.", code=Code.SELF_HELP,
         answers={"Have you tried the self-service password reset?": "no", "Is your account locked?": "no"}),
    Kind("Access", "Account locked", DESK, "Account locked out every morning",
         "My account is locked every morning although I type the password correctly.",
         "An old phone kept trying the previous password; removed the mail profile from it.",
         service="Identity and single sign-on", cis=("Keycloak",), urgency=2),
    Kind("Access", "Permissions", DESK, "Cannot access the Finance shared drive",
         "Access denied on \\\\files\\finance since I moved team.",
         "Added the caller to the Finance-Share-RW group after the manager's approval.", urgency=3),
    Kind("Access", "Permissions", APPS, "Need approver rights in the payroll system",
         "I took over the team from my predecessor and cannot approve timesheets.",
         "Granted the approver role in PayFlow after the HR approval.", service="Payroll",
         cis=("PayFlow payroll",), urgency=3),
    Kind("E-mail", "Mailbox", DESK, "Mailbox full: cannot send e-mails",
         "Outlook says my mailbox is full and e-mails stay in the outbox.",
         "Enabled the online archive and moved mail older than two years there.",
         service="E-mail and collaboration", cis=("Mail server (Postfix/Dovecot)",),
         answers={"Who is affected?": "Only me", "Outlook or webmail?": "Outlook"}),
    Kind("E-mail", "Delivery", INFRA, "E-mails to a customer domain bounce back",
         "Everything we send to @northwind.example bounces with 'relay access denied'.",
         "Their SPF record changed; worked with the customer's IT to fix the relay.",
         service="E-mail and collaboration", cis=("Mail server (Postfix/Dovecot)",), impact=3, urgency=2,
         answers={"Who is affected?": "My team", "Outlook or webmail?": "All of them"}),
    Kind("E-mail", "Calendar", DESK, "Shared calendar not updating on the phone",
         "The team calendar shows last week's events on my phone.",
         "Removed and re-added the account on the phone.", urgency=4,
         answers={"Who is affected?": "Only me", "Outlook or webmail?": "Phone"}),
    Kind("E-mail", "Delivery", DESK, "Team chat notifications not arriving",
         "I do not get any notifications from the team chat since yesterday.",
         "Notification settings were reset by the app update; restored them.",
         service="E-mail and collaboration", cis=("Team chat (Mattermost)",), urgency=4,
         answers={"Who is affected?": "Only me"}),
    Kind("Database", "Performance", INFRA, "Reports on the shop database take minutes",
         "The daily sales report used to take seconds and now times out.",
         "A missing index after the last release; created it and the report runs in 3 s.",
         service="Database platform", cis=("shop-db", "srv-db-01"), impact=3, urgency=2,
         note="Seq scan on order_lines (80M rows); the release dropped an index. Recreated concurrently."),
    Kind("Database", "Connectivity", INFRA, "Customer portal cannot reach its database",
         "The portal shows 'database connection error' on every page.",
         "The database server's connection limit was reached; raised it and fixed the pool size.",
         service="Customer support portal", cis=("portal-db", "srv-db-02"), impact=2, urgency=1),
    Kind("Database", "Performance", INFRA, "Backup job of the payroll database overruns",
         "The nightly backup is still running at 9:00 and slows the payroll system.",
         "Moved the backup window and enabled incremental backups.",
         service="Database platform", cis=("payroll-db", "srv-backup-01"), impact=3, urgency=3),
    Kind("Business application", "Online shop", APPS, "Online shop product images not loading",
         "Customers see broken images on the product pages.",
         "The image CDN certificate had expired; renewed it.", service="Online shop",
         cis=("Shopfront web",), impact=2, urgency=2),
    Kind("Business application", "Online shop", APPS, "Order confirmation e-mails not sent to customers",
         "Customers complain they do not get order confirmations since the weekend.",
         "The order service's mail queue was stuck; restarted it and re-sent 412 confirmations.",
         service="Online shop", cis=("Order service", "vm-shop-api-01"), impact=2, urgency=2),
    Kind("Business application", "Payroll", APPS, "Payroll run stuck at 'calculating'",
         "The monthly payroll run shows 'calculating' for two hours.",
         "A lock left by a cancelled run; released it and the run completed.",
         service="Payroll", cis=("PayFlow payroll", "payroll-db"), impact=2, urgency=1),
    Kind("Business application", "Customer portal", APPS, "Customers cannot upload attachments in the portal",
         "Uploads fail with 'request entity too large' for files over 1 MB.",
         "Raised the proxy's body size limit to 20 MB.", service="Customer support portal",
         cis=("Support portal", "vm-portal-01"), impact=3, urgency=2),
    Kind("Business application", "Customer portal", APPS, "Customer portal login loops back to the sign-in page",
         "After signing in, customers land on the sign-in page again.",
         "A clock drift on vm-idp-02 invalidated tokens; fixed NTP.",
         service="Customer support portal", cis=("Keycloak", "vm-idp-02"), impact=2, urgency=2),
    Kind("Security", "Lost or stolen device", INFRA, "Laptop stolen from a car",
         "My laptop was stolen from the car last night; police report attached.",
         "Device wiped remotely and disabled; replacement laptop issued.", urgency=2),
]  # fmt: skip

COMMENTS_FROM_DESK = [
    "Thanks for reporting this. I'm looking into it now.",
    "Could you send a screenshot of the error, please?",
    "I have reproduced the problem and passed it to the specialists.",
    "We are working on it and will update you this afternoon.",
]
REPLIES_FROM_CALLER = [
    "Screenshot attached. It happens every time.",
    "It is still happening this morning.",
    "Thanks, any news? I need this for the month-end close.",
    "I restarted as suggested, no change.",
]
HOLD_NOTES = {
    HoldReason.AWAITING_USER: "Could you tell us when you are at your desk so we can connect remotely?",
    HoldReason.AWAITING_SUPPLIER: "Waiting for the supplier's engineer.",
    HoldReason.AWAITING_CHANGE: "The fix is planned in Saturday's maintenance window (change approved).",
}
CANCEL_REASONS = [
    "Raised twice by mistake; the other incident continues.",
    "The caller withdrew it: it was a planned outage announced last week.",
    "Not an incident: a request for a new laptop; redirected to the service catalogue.",
]

# How many incidents of each final status the story has (besides the scenarios).
TARGETS = [
    (Status.CLOSED, 190),
    (Status.CANCELLED, 12),
    (Status.RESOLVED, 18),
    (Status.NEW, 18),
    (Status.IN_PROGRESS, 32),
    (HoldReason.AWAITING_USER, 7),
    (HoldReason.AWAITING_SUPPLIER, 6),
    (HoldReason.AWAITING_CHANGE, 6),
]
# P1..P5 -> (minutes to respond, minutes to resolve after starting), each a (low, high) range.
PACE = {
    1: ((5, 15), (60, 240)),
    2: ((10, 60), (120, 720)),
    3: ((30, 240), (240, 3 * 1440)),
    4: ((60, 1440), (1440, 6 * 1440)),
    5: ((120, 2880), (2 * 1440, 10 * 1440)),
}


# -- the story clock ------------------------------------------------------------------------------


class _Clock:
    """Maps the real time each step ran at to the time it happens in the story."""

    def __init__(self, now: datetime.datetime):
        self.now = now
        self.starts: list[datetime.datetime] = []
        self.offsets: list[datetime.timedelta] = []
        self.floor = now - datetime.timedelta(days=DAYS + 1)

    def at(self, when: datetime.datetime, *, first: bool = False) -> datetime.datetime:
        """Start a step that happens at ``when``: never later than a minute ago, and never before the
        previous step of the same incident (``first`` starts a new incident)."""
        when = min(when, self.now - datetime.timedelta(minutes=1))
        if not first:
            when = max(when, self.floor)
        self.floor = when
        real = timezone.now()
        if self.starts and real <= self.starts[-1]:
            real = self.starts[-1] + datetime.timedelta(microseconds=1)
        self.starts.append(real)
        self.offsets.append(when - real)
        return when

    def shift(self, value: datetime.datetime) -> datetime.datetime:
        index = bisect.bisect_right(self.starts, value) - 1
        return value if index < 0 else value + self.offsets[index]

    def rewrite(self, table: str, columns: list[str]) -> None:
        """Move every timestamp written during a step by that step's offset, in the database."""
        if not self.starts:
            return
        with connection.cursor() as cursor:
            for column in columns:
                # Identifiers come from this module, never from input.
                cursor.execute(
                    f'UPDATE "{table}" SET "{column}" = "{column}" + '  # noqa: S608
                    f'(%s::interval[])[width_bucket("{column}", %s::timestamptz[])] '
                    f'WHERE "{column}" >= %s',
                    [self.offsets, self.starts, self.starts[0]],
                )


# -- loading --------------------------------------------------------------------------------------


@transaction.atomic
def load_demo() -> str:
    started = timezone.now()
    groups = {g.name: g for g in SupportGroup.objects.filter(name__in=[DESK, INFRA, APPS])}
    if len(groups) < 3:
        return "skipped: the people demo's support groups are missing"
    people = _people(groups)
    categories = _categories()
    questions = _questions(categories)
    rules = _routing(categories, groups)
    if Incident.objects.filter(short_description=MAJOR_TITLE).exists():
        return (
            f"0 incidents created (demo incidents already there); {questions} questions and {rules} "
            f"routing rules created"
        )
    story = _Story(people, groups, categories, started)
    story.tell()
    story.backdate()
    seconds = (timezone.now() - started).total_seconds()
    counts = dict.fromkeys(Status.values, 0)
    for status in Incident.objects.filter(pk__in=story.ids).values_list("status", flat=True):
        counts[status] += 1
    spread = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items())
    return f"{len(story.ids)} incidents created ({spread}) in {seconds:.1f} s"


def _people(groups: dict[str, SupportGroup]) -> dict[str, User]:
    organisations = {o.code: o for o in Organisation.objects.all()}
    role_groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
    wanted = [(u, first, last, [r], gs, o) for u, first, last, r, gs, o in STAFF]
    wanted += [(u, first, last, [roles.END_USER], [], o) for u, first, last, o in CALLERS]
    for index, (username, first, last, role_names, group_names, org) in enumerate(wanted):
        organisation = organisations.get(org)
        domain = organisation.email_domain if organisation and organisation.email_domain else "example.com"
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@{domain}",
                "organisation": organisation,
                "phone": f"+44 20 7946 {1200 + 37 * index}",
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(*[role_groups[name] for name in role_names if name in role_groups])
            if role_names[0] == roles.SECURITY and roles.AGENT in role_groups:
                user.groups.add(role_groups[roles.AGENT])
            for name in group_names:
                groups[name].members.add(user)
    return {u.username: u for u in User.objects.all()}


def _categories() -> dict[str, Category]:
    found = {str(c): c for c in Category.objects.select_related("parent")}
    for order, (name, children) in enumerate(CATEGORIES.items(), start=1):
        if name not in found:
            found[name] = Category.objects.create(name=name, order=order * 10)
        for position, child in enumerate(children, start=1):
            label = f"{name} › {child}"
            if label not in found:
                found[label] = Category.objects.create(name=child, parent=found[name], order=position * 10)
    return found


def _questions(categories: dict[str, Category]) -> int:
    present = set(IntakeQuestion.objects.values_list("category_id", "text"))
    created = 0
    for cat, sub, order, text, kind, choices, required, fix_on, fix in QUESTIONS:
        category = categories[f"{cat} › {sub}" if sub else cat]
        if (category.pk, text) in present:
            continue
        IntakeQuestion.objects.create(
            category=category,
            order=order,
            text=text,
            kind=kind,
            choices=choices,
            required=required,
            fix_on_answer=fix_on,
            fix_text=fix,
        )
        created += 1
    return created


def _routing(categories: dict[str, Category], groups: dict[str, SupportGroup]) -> int:
    present = set(RoutingRule.objects.values_list("name", flat=True))
    services_by_name = {ci.name: ci for ci in ConfigurationItem.objects.filter(ci_class__is_service=True)}
    classes = {c.slug: c for c in CIClass.objects.all()}
    created = 0
    for order, name, group, condition in ROUTING:
        if name in present:
            continue
        fields = {"name": name, "order": order, "assignment_group": groups[group]}
        if "category" in condition:
            fields["category"] = categories[condition["category"]]
        elif "service" in condition:
            if condition["service"] not in services_by_name:
                continue
            fields["service"] = services_by_name[condition["service"]]
        elif "ci_class" in condition:
            if condition["ci_class"] not in classes:
                continue
            fields["ci_class"] = classes[condition["ci_class"]]
        else:
            fields["keywords"] = condition["keywords"]
        RoutingRule.objects.create(**fields)
        created += 1
    return created


@dataclass
class _Plan:
    kind: Kind
    outcome: str  # a status, or a hold reason for on hold
    created: datetime.datetime
    caller: str


class _Story:
    """Writes the incidents through the services, step by step on the story clock, in the order they
    were logged (so numbers grow with time)."""

    def __init__(self, people, groups, categories, now):
        self.people, self.groups, self.categories = people, groups, categories
        self.rng = random.Random(SEED)  # noqa: S311 - a repeatable story, not a secret
        self.clock = _Clock(now)
        self.now = now
        self.ids: list[int] = []
        self.cis = {ci.name: ci for ci in ConfigurationItem.objects.select_related("ci_class")}
        self.questions = {
            (q.category_id, q.text): q.pk for q in IntakeQuestion.objects.filter(is_active=True)
        }
        self.suppliers = {s.name: s for s in Supplier.objects.filter(is_active=True)}

    def tell(self) -> None:
        days, hours = datetime.timedelta(days=1), datetime.timedelta(hours=1)
        scenes = [(plan.created, lambda plan=plan: self.play(plan)) for plan in self.plans()]
        scenes += [
            (self.now - 41 * days - 5 * hours, self.stolen_laptop),
            (self.now - 33 * days - 2 * hours, self.enduser_closed),
            ((self.now - 23 * days).replace(hour=8, minute=12), self.resolved_major),
            (self.now - 3 * days - 1 * hours, self.enduser_in_progress),
            (self.now - 2 * days - 4 * hours, self.enduser_resolved),
            (self.now - 2 * days - 3 * hours, self.merged_duplicate),
            (self.now - 1 * days - 6 * hours, self.enduser_on_hold),
            (self.now - 26 * hours, self.security_incident),
            (self.now - 3 * hours, self.enduser_new),
            (self.now - 2 * hours - datetime.timedelta(minutes=10), self.running_major),
        ]
        for when, scene in sorted(scenes, key=lambda item: item[0]):
            scene() if scene.__name__ == "<lambda>" else scene(when)

    # -- helpers

    def user(self, name: str) -> User:
        return self.people[name]

    def later(self, t: datetime.datetime, low: float, high: float) -> datetime.datetime:
        """``low``..``high`` minutes after ``t``, but at most a third of the time left until now."""
        step = datetime.timedelta(minutes=self.rng.uniform(low, high))
        return t + min(step, (self.now - t) / 3)

    def worker(self, group: str) -> User:
        names = WORKERS[group]
        return self.user(self.rng.choices(list(names), weights=list(names.values()))[0])

    def create(self, when, kind: Kind, caller: User, *, channel=None, group=None, assignee=None, **extra):
        """Log ``kind`` for ``caller``: the desk takes phone calls and walk-ins, the rest is routed."""
        self.clock.at(when, first=True)
        channel = (
            channel
            or self.rng.choices(
                [Channel.PORTAL, Channel.EMAIL, Channel.PHONE, Channel.AGENT], weights=[4, 3, 4, 1]
            )[0]
        )
        by_desk = channel in (Channel.PHONE, Channel.AGENT)
        actor = (assignee or self.worker(DESK)) if by_desk else caller
        category = self.categories[kind.category]
        subcategory = (
            self.categories.get(f"{kind.category} › {kind.subcategory}") if kind.subcategory else None
        )
        fields = {
            "short_description": kind.short,
            "description": kind.description,
            "caller": caller,
            "channel": channel,
            "category": category,
            "subcategory": subcategory,
            "service": self.cis.get(kind.service) if kind.service else None,
            "impact": extra.pop("impact", kind.impact),
            "urgency": extra.pop("urgency", kind.urgency),
            **extra,
        }
        if group is not None:
            fields["assignment_group"], fields["assignee"] = group, assignee
        elif by_desk:
            fields["assignment_group"], fields["assignee"] = self.groups[DESK], actor
        answers = {}
        for text, answer in kind.answers.items():
            for category_id in (category.pk, subcategory.pk if subcategory else None):
                if (category_id, text) in self.questions:
                    answers[self.questions[(category_id, text)]] = answer
        incident = services.incident_create(
            actor=actor,
            fields=fields,
            cis=[self.cis[name] for name in kind.cis if name in self.cis],
            answers=answers,
            is_security=kind.category == "Security",
        )
        self.ids.append(incident.pk)
        return incident

    def assign(self, incident: Incident, person: User, group: str, when) -> Incident:
        if incident.assignee_id == person.pk:
            return incident
        self.clock.at(when)
        return services.incident_assign(
            incident=incident, actor=person, group=self.groups[group], assignee=person
        )

    def to_solver(self, incident: Incident, when, kind: Kind) -> tuple[Incident, User]:
        """Get the incident to the group that solves it, and to a person there."""
        target = self.groups[kind.group]
        if incident.assignment_group_id == target.pk:
            if incident.assignee is not None:
                return incident, incident.assignee
            solver = self.worker(kind.group)
            return self.assign(incident, solver, kind.group, when), solver
        self.clock.at(when)
        if incident.assignment_group_id == self.groups[DESK].pk:
            incident = services.incident_escalate(
                incident=incident,
                actor=incident.assignee or self.worker(DESK),
                kind=HopKind.FUNCTIONAL,
                group=target,
                reason=f"Needs {target.name}: first-line checks done, not solvable at the desk.",
            )
        else:
            incident = services.incident_assign(
                incident=incident,
                actor=self.worker(DESK),
                group=target,
                reason="Reassigned: wrong group for this kind of incident."
                if incident.assignment_group_id
                else "",
            )
        solver = self.worker(kind.group)
        return self.assign(incident, solver, kind.group, self.later(when, 5, 40)), solver

    # -- the everyday incidents

    def plans(self) -> list[_Plan]:
        plans = []
        callers, weights = list(CALLER_WEIGHTS), list(CALLER_WEIGHTS.values())
        for outcome, count in TARGETS:
            for _ in range(count):
                kind = self.rng.choice(KINDS[:-1])  # the stolen laptop is a scene of its own
                caller = self.rng.choices(callers, weights)[0]
                plans.append(_Plan(kind, outcome, self.created_for(outcome), caller))
        return plans

    def created_for(self, outcome: str) -> datetime.datetime:
        """When an incident ending in ``outcome`` was logged: open ones are recent, closed ones older."""
        days = {
            Status.NEW: (0.05, 1.5),
            Status.IN_PROGRESS: (0.2, 10),
            Status.RESOLVED: (0.4, 4),
            HoldReason.AWAITING_USER: (1, 8),
            HoldReason.AWAITING_SUPPLIER: (2, 20),
            HoldReason.AWAITING_CHANGE: (3, 30),
            Status.CANCELLED: (0.5, DAYS),
            Status.CLOSED: (6, DAYS),
        }[outcome]
        when = self.now - datetime.timedelta(days=self.rng.uniform(*days))
        if when.weekday() >= 5 and self.rng.random() < 0.8:  # mostly working days
            when -= datetime.timedelta(days=when.weekday() - 4)
        hour = self.rng.choice([8, 9, 9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 17, 18, 20])
        when = when.replace(hour=hour, minute=self.rng.randrange(60))
        if when > self.now - datetime.timedelta(minutes=20):
            when -= datetime.timedelta(days=1)
        return when

    def play(self, plan: _Plan) -> None:
        kind, outcome, t = plan.kind, plan.outcome, plan.created
        caller = self.user(plan.caller)
        urgency = max(1, min(4, kind.urgency + self.rng.choice([0, 0, 0, 1, -1])))
        impact = 3 if kind.impact == 4 and self.rng.random() < 0.15 else kind.impact
        incident = self.create(t, kind, caller, urgency=urgency, impact=impact)
        respond, resolve = PACE[incident.priority]
        t = self.later(t, *respond)
        if outcome == Status.NEW:
            return
        if outcome == Status.CANCELLED:
            self.clock.at(t)
            services.incident_cancel(
                incident=incident, actor=self.worker(DESK), reason=self.rng.choice(CANCEL_REASONS)
            )
            return
        # Most desk incidents logged by phone are solved there and then: first-contact resolutions.
        desk_call = incident.assignee is not None and kind.group == DESK
        if outcome == Status.CLOSED and desk_call and self.rng.random() < 0.6:
            t = self.later(plan.created, 5, 25)
            self.clock.at(t)
            incident = services.incident_resolve(
                incident=incident,
                actor=incident.assignee,
                resolution_code=kind.code,
                resolution_notes=kind.resolution,
            )
            self.close(incident, t)
            return
        incident, solver = self.to_solver(incident, t, kind)
        t = self.later(t, 45, 90)
        self.clock.at(t)
        incident = services.incident_start(incident=incident, actor=solver)
        if self.rng.random() < 0.5:
            t = self.later(t, 5, 90)
            self.clock.at(t)
            services.incident_comment(
                incident=incident, actor=solver, body=self.rng.choice(COMMENTS_FROM_DESK)
            )
            if self.rng.random() < 0.4:
                t = self.later(t, 10, 120)
                self.clock.at(t)
                services.incident_comment(
                    incident=incident, actor=caller, body=self.rng.choice(REPLIES_FROM_CALLER)
                )
        if kind.note:
            t = self.later(t, 10, 120)
            self.clock.at(t)
            services.incident_comment(incident=incident, actor=solver, body=kind.note, public=False)
        if incident.priority <= 2 and self.rng.random() < 0.3:
            t = self.later(t, 30, 120)
            self.clock.at(t)
            services.incident_escalate(
                incident=incident,
                actor=solver,
                kind=HopKind.HIERARCHICAL,
                reason="Business impact growing; need a decision on a workaround.",
            )
        if outcome in HoldReason.values:
            self.hold(incident, self.later(t, 10, 240), solver, outcome)
            return
        if outcome == Status.IN_PROGRESS:
            return
        t = self.later(t, *resolve)
        self.clock.at(t)
        incident = services.incident_resolve(
            incident=incident, actor=solver, resolution_code=kind.code, resolution_notes=kind.resolution
        )
        if outcome == Status.CLOSED and self.rng.random() < 0.08:
            t = self.later(t, 60, 1440)
            self.clock.at(t)
            incident = services.incident_reject_resolution(
                incident=incident, actor=caller, reason="Still happening after the fix, sorry."
            )
            t = self.later(t, 60, 720)
            self.clock.at(t)
            services.incident_comment(incident=incident, actor=solver, public=False,
                                      body="Second cause found: the setting came back with the policy refresh.")  # fmt: skip
            t = self.later(t, 30, 600)
            self.clock.at(t)
            incident = services.incident_resolve(incident=incident, actor=solver, resolution_code=kind.code,
                                                 resolution_notes=f"{kind.resolution} Fixed the policy too.")  # fmt: skip
        if outcome == Status.CLOSED:
            self.close(incident, t)

    def close(self, incident: Incident, resolved_at: datetime.datetime) -> None:
        """The caller confirms, or five days pass without an answer and it closes by itself."""
        auto_at = resolved_at + datetime.timedelta(days=5, minutes=self.rng.uniform(1, 60))
        if incident.caller is not None and (self.rng.random() < 0.45 or auto_at > self.now):
            self.clock.at(self.later(resolved_at, 10, 2 * 1440))
            services.incident_confirm(incident=incident, actor=incident.caller)
            return
        self.clock.at(auto_at)
        services.transition(
            incident=incident,
            actor=None,
            to=Status.CLOSED,
            reason="Closed automatically: no answer from the caller within 5 days of the resolution.",
        )
        Incident.objects.filter(pk=incident.pk).update(confirmation=ConfirmationState.AUTO_CLOSED)

    def hold(self, incident: Incident, t, solver: User, reason: str) -> None:
        if reason == HoldReason.AWAITING_SUPPLIER:
            apps = incident.assignment_group_id == self.groups[APPS].pk
            supplier = self.suppliers.get("Contoso Software" if apps else "Acme Hosting")
            if supplier is not None:
                self.clock.at(t)
                services.incident_escalate(
                    incident=incident,
                    actor=solver,
                    kind=HopKind.SUPPLIER,
                    supplier=supplier,
                    supplier_reference=f"CASE-{self.rng.randrange(100000, 999999)}",
                    reason="Covered by the supplier's support contract.",
                )
                t = self.later(t, 5, 30)
        if reason == HoldReason.AWAITING_USER:
            self.clock.at(t)
            services.incident_comment(incident=incident, actor=solver, body=HOLD_NOTES[reason])
            t = self.later(t, 1, 5)
        self.clock.at(t)
        services.incident_hold(incident=incident, actor=solver, hold_reason=reason, reason=HOLD_NOTES[reason])

    # -- the scenes a demo needs

    def kind(self, short: str) -> Kind:
        return next(kind for kind in KINDS if kind.short == short)

    def swarm(self, incident, t, manager, members) -> datetime.datetime:
        for username, role, group in members:
            t = self.later(t, 1, 4)
            self.clock.at(t)
            services.swarm_add(incident=incident, actor=manager, user=self.user(username), role=role,
                               group=self.groups[group])  # fmt: skip
        return t

    def running_major(self, t) -> None:
        """Checkout is down right now: a major incident with its swarm, updates and children."""
        manager, li, dana = self.user("manager"), self.user("li"), self.user("dana")
        kind = Kind("Business application", "Online shop", APPS, MAJOR_TITLE,
                    "Customers get a timeout on the payment page; the shop's checkout error rate is 85%.",
                    "", service="Online shop", cis=("Shopfront web", "Order service", "shop-db", "lb-01"),
                    impact=1, urgency=1)  # fmt: skip
        major = self.create(
            t, kind, self.user("sam"), channel=Channel.PHONE, group=self.groups[APPS], assignee=li
        )
        t = self.later(t, 3, 5)
        self.clock.at(t)
        major = services.incident_start(incident=major, actor=li)
        t = self.later(t, 5, 8)
        self.clock.at(t)
        major = services.incident_declare_major(
            incident=major,
            actor=manager,
            reason="Checkout is down for all customers: about £12,000 of orders an hour are lost.",
            update_cadence_minutes=30,
        )
        t = self.swarm(major, t, manager, [
            ("li", "Application lead", APPS),
            ("dana", "Database lead", INFRA),
            ("tom", "Network and load balancer", INFRA),
            ("priya", "Service desk communications", DESK),
        ])  # fmt: skip
        updates = [
            ("We are investigating failed payments in the online shop. Next update in 30 minutes.",
             {"symptoms": "Payment page times out after 30 s", "business_impact": "No online orders",
              "actions_planned": "Check the order service and the shop database"}),
            ("The shop database is slowing the order service down; we are removing the cause.",
             {"actions_completed": "Ruled out the load balancer and the payment provider",
              "actions_planned": "Stop the blocking report query; add order service capacity"}),
            ("About 40% of payments go through again. We continue; next update in 30 minutes.",
             {"actions_completed": "Stopped the blocking report; restarted two order service workers",
              "actions_planned": "Fail the shop database over to the replica if errors stay"}),
        ]  # fmt: skip
        notes = [
            (dana, "shop-db: 480 sessions waiting on a lock held by the nightly sales report (pid 22817)."),
            (li, "Order service pool exhausted on vm-shop-api-01; restarting the workers one by one."),
        ]
        for number, (body, fields) in enumerate(updates):
            t += datetime.timedelta(minutes=self.rng.uniform(22, 28))
            self.clock.at(t)
            services.incident_comment(incident=major, actor=manager, body=body, fields=fields)
            if number < len(notes):
                t += datetime.timedelta(minutes=self.rng.uniform(4, 8))
                self.clock.at(t)
                author, note = notes[number]
                services.incident_comment(
                    incident=major, actor=author, public=False, body=note, involved=[li]
                )
        child_kind = Kind("Business application", "Online shop", APPS, "Cannot pay for my order in the online shop",
                          "The payment page spins and then shows an error.", "", service="Online shop")  # fmt: skip
        start = self.now - datetime.timedelta(hours=1, minutes=50)
        for offset, caller in enumerate(["amira", "marta", "chloe"]):
            when = start + datetime.timedelta(minutes=9 * offset + 3)
            child = self.create(when, child_kind, self.user(caller), channel=Channel.PHONE,
                                group=self.groups[DESK], assignee=self.user("priya"))  # fmt: skip
            self.clock.at(when + datetime.timedelta(minutes=2))
            services.incident_set_parent(incident=child, actor=self.user("priya"), parent=major)

    def resolved_major(self, t) -> None:
        """Three weeks ago: e-mail down for everyone; resolved, reviewed, a problem asked for."""
        manager, tom = self.user("manager"), self.user("tom")
        kind = Kind("E-mail", "Mailbox", INFRA, "E-mail down for all staff: mailbox server not responding",
                    "Outlook and webmail show 'disconnected' for everyone since 8:00.", "",
                    service="E-mail and collaboration", cis=("Mail server (Postfix/Dovecot)", "vm-mail-01", "san-01"),
                    impact=1, urgency=1,
                    answers={"Who is affected?": "Everyone I know", "Outlook or webmail?": "All of them"})  # fmt: skip
        major = self.create(t, kind, self.user("fiona"), channel=Channel.PHONE, group=self.groups[INFRA],
                            assignee=tom)  # fmt: skip
        t = self.later(t, 3, 6)
        self.clock.at(t)
        major = services.incident_start(incident=major, actor=tom)
        t = self.later(t, 4, 8)
        self.clock.at(t)
        major = services.incident_declare_major(
            incident=major, actor=manager, reason="No e-mail for the whole company on a payroll day.",
            update_cadence_minutes=30,
        )  # fmt: skip
        t = self.swarm(major, t, manager, [("tom", "Mail platform lead", INFRA), ("dana", "Storage", INFRA),
                                           ("priya", "Service desk communications", DESK)])  # fmt: skip
        child_kind = Kind("E-mail", "Mailbox", DESK, "Outlook says disconnected", "Cannot send or receive.", "",
                          answers={"Who is affected?": "My team"})  # fmt: skip
        children = []
        for offset, caller in enumerate(["noah", "lukas"]):
            when = t + datetime.timedelta(minutes=2 + offset * 3)
            child = self.create(when, child_kind, self.user(caller), channel=Channel.PHONE,
                                group=self.groups[DESK], assignee=self.user("agent"))  # fmt: skip
            self.clock.at(when + datetime.timedelta(minutes=1))
            services.incident_set_parent(incident=child, actor=self.user("agent"), parent=major)
            children.append(child.pk)
        t += datetime.timedelta(minutes=8)
        for body, fields in [
            ("We are investigating an e-mail outage for all staff.", {"business_impact": "No e-mail company-wide"}),
            ("The mail store lost its storage path; we are failing over to the replica.",
             {"actions_completed": "Found the SAN path failure on esx-01", "actions_planned": "Fail over"}),
            ("E-mail works again; queued messages are being delivered.", {"actions_completed": "Failed over"}),
        ]:  # fmt: skip
            t += datetime.timedelta(minutes=self.rng.uniform(25, 32))
            self.clock.at(t)
            services.incident_comment(incident=major, actor=manager, body=body, fields=fields)
        t += datetime.timedelta(minutes=15)
        self.clock.at(t)
        major = services.incident_resolve(
            incident=major, actor=tom, resolution_code=Code.SOLVED_WORKAROUND,
            resolution_notes="Failed the mail store over to its replica after a SAN path failure; mail flows again.",
        )  # fmt: skip
        resolved_at = t
        t += datetime.timedelta(hours=2)
        self.clock.at(t)
        services.review_save(incident=major, actor=manager, data={
            "what_happened": "The mail store's only SAN path failed at 07:58; Dovecot hung on I/O.",
            "impact": "No e-mail for 1,200 staff for 1 h 40 min on payroll day.",
            "timeline_summary": "08:00 first calls; 08:20 major incident; 09:05 cause found; 09:40 restored.",
            "causes": "Single SAN path on esx-01 after the switch replacement; no path monitoring.",
            "actions": "Restore the second SAN path - Tom - this week\nAdd path monitoring - Dana - next month",
            "lessons": "Check multipathing after every switch change.",
            "problem_requested": True,
            "complete": True,
        })  # fmt: skip
        t += datetime.timedelta(hours=3)
        self.clock.at(t)
        services.incident_confirm(incident=major, actor=self.user("fiona"))
        for child in Incident.objects.filter(pk__in=children).select_related("caller"):
            self.clock.floor = resolved_at
            self.close(child, resolved_at)

    def merged_duplicate(self, t) -> None:
        """Sam logs the same VPN problem twice; the second is merged into the first."""
        kind = self.kind("VPN disconnects every few minutes when working from home")
        sam = self.user("sam")
        survivor = self.create(t, kind, sam, channel=Channel.PORTAL)
        survivor, solver = self.to_solver(survivor, t + datetime.timedelta(minutes=30), kind)
        self.clock.at(t + datetime.timedelta(hours=1))
        survivor = services.incident_start(incident=survivor, actor=solver)
        duplicate = self.create(t + datetime.timedelta(hours=2), kind, sam, channel=Channel.EMAIL)
        self.clock.at(t + datetime.timedelta(hours=2, minutes=5))
        services.incident_comment(
            incident=duplicate, actor=sam, body="Sent this by e-mail too: it dropped again."
        )
        self.clock.at(t + datetime.timedelta(hours=2, minutes=30))
        services.incident_merge(duplicate=duplicate, survivor=survivor, actor=self.user("priya"),
                                reason="Same caller, same VPN problem.")  # fmt: skip

    def security_incident(self, t) -> None:
        """Fiona opened a phishing attachment: only the security team (and Fiona) see this one."""
        sofia = self.user("sofia")
        kind = Kind("Security", "Phishing", INFRA, "Opened a suspicious invoice attachment from an unknown sender",
                    "I opened 'Invoice_0923.zip' from an unknown sender; a window flashed and closed.", "",
                    impact=2, urgency=1)  # fmt: skip
        incident = self.create(t, kind, self.user("fiona"), channel=Channel.PHONE, group=self.groups[INFRA],
                               assignee=sofia)  # fmt: skip
        self.clock.at(t + datetime.timedelta(minutes=6))
        incident = services.incident_start(incident=incident, actor=sofia)
        self.clock.at(t + datetime.timedelta(minutes=9))
        services.incident_comment(incident=incident, actor=sofia, body=(
            "Please leave the laptop switched on but unplugged from the network; we will collect it."
        ))  # fmt: skip
        self.clock.at(t + datetime.timedelta(minutes=40))
        services.incident_comment(incident=incident, actor=sofia, public=False, fields={
            "symptoms": "The zip held a .lnk file launching PowerShell",
            "actions_completed": "Laptop isolated by the EDR; sender blocked at the mail gateway",
            "actions_planned": "Forensic image; search other mailboxes for the same sender",
        })  # fmt: skip
        self.clock.at(t + datetime.timedelta(hours=3))
        services.incident_comment(incident=incident, actor=sofia, public=False,
                                  body="4 other mailboxes received it; purged. No other clicks in the proxy logs.")  # fmt: skip

    def stolen_laptop(self, t) -> None:
        kind = self.kind("Laptop stolen from a car")
        sofia = self.user("sofia")
        incident = self.create(t, kind, self.user("lukas"), channel=Channel.PHONE, group=self.groups[INFRA],
                               assignee=sofia)  # fmt: skip
        t += datetime.timedelta(minutes=25)
        self.clock.at(t)
        incident = services.incident_resolve(incident=incident, actor=sofia, resolution_code=kind.code,
                                             resolution_notes=kind.resolution)  # fmt: skip
        self.close(incident, t)

    # The demo end user's own incidents: one in every state the portal shows.

    def enduser_resolved(self, t) -> None:
        """Resolved yesterday, awaiting Eve's confirmation."""
        eve, agent = self.user("enduser"), self.user("agent")
        kind = self.kind("Excel crashes when opening the monthly payroll export")
        incident = self.create(t, kind, eve, channel=Channel.PORTAL)
        incident = self.assign(incident, agent, DESK, t + datetime.timedelta(minutes=40))
        self.clock.at(t + datetime.timedelta(minutes=45))
        incident = services.incident_start(incident=incident, actor=agent)
        self.clock.at(t + datetime.timedelta(minutes=50))
        services.incident_comment(
            incident=incident, actor=agent, body="Could you send me the export file, please?"
        )
        self.clock.at(t + datetime.timedelta(hours=2))
        services.incident_comment(
            incident=incident, actor=eve, body="Attached to the e-mail I just sent you."
        )
        self.clock.at(t + datetime.timedelta(days=1, hours=3))
        services.incident_resolve(incident=incident, actor=agent, resolution_code=kind.code,
                                  resolution_notes=kind.resolution)  # fmt: skip

    def enduser_on_hold(self, t) -> None:
        eve, agent = self.user("enduser"), self.user("agent")
        kind = self.kind("Second monitor not detected after docking")
        incident = self.create(t, kind, eve, channel=Channel.PHONE, group=self.groups[DESK], assignee=agent)
        self.clock.at(t + datetime.timedelta(minutes=15))
        incident = services.incident_start(incident=incident, actor=agent)
        self.hold(incident, t + datetime.timedelta(hours=1), agent, HoldReason.AWAITING_USER)

    def enduser_new(self, t) -> None:
        self.create(
            t, self.kind("Laptop battery drains within an hour"), self.user("enduser"), channel=Channel.PORTAL
        )

    def enduser_in_progress(self, t) -> None:
        eve, agent = self.user("enduser"), self.user("agent")
        incident = self.create(
            t, self.kind("Cannot access the Finance shared drive"), eve, channel=Channel.EMAIL
        )
        incident = self.assign(incident, agent, DESK, t + datetime.timedelta(minutes=30))
        self.clock.at(t + datetime.timedelta(minutes=35))
        incident = services.incident_start(incident=incident, actor=agent)
        self.clock.at(t + datetime.timedelta(minutes=50))
        services.incident_comment(incident=incident, actor=agent, public=False,
                                  body="Waiting for the Finance manager's approval of the group membership.")  # fmt: skip

    def enduser_closed(self, t) -> None:
        eve, agent = self.user("enduser"), self.user("agent")
        kind = self.kind("Password expired while travelling")
        incident = self.create(t, kind, eve, channel=Channel.PHONE, group=self.groups[DESK], assignee=agent,
                               urgency=2)  # fmt: skip
        self.clock.at(t + datetime.timedelta(minutes=10))
        incident = services.incident_resolve(incident=incident, actor=agent, resolution_code=kind.code,
                                             resolution_notes=kind.resolution)  # fmt: skip
        self.clock.at(t + datetime.timedelta(hours=1))
        services.incident_confirm(incident=incident, actor=eve)

    # -- the past

    def backdate(self) -> None:
        """Move what each step wrote to the step's time in the story (see the module docstring)."""
        clock = self.clock
        clock.rewrite(
            Incident._meta.db_table,
            ["created_at", "updated_at", "status_changed_at", "responded_at", "resolved_at", "closed_at",
             "major_declared_at", "last_public_update_at"],
        )  # fmt: skip
        clock.rewrite("itsm_timelineentry", ["created_at"])
        clock.rewrite("itsm_changerecord", ["at"])
        clock.rewrite("itsm_notification", ["created_at"])
        clock.rewrite("incidents_statusperiod", ["started_at", "ended_at"])
        clock.rewrite("incidents_assignmenthop", ["at"])
        clock.rewrite("incidents_swarmmember", ["added_at", "removed_at"])
        clock.rewrite("incidents_postincidentreview", ["created_at", "updated_at", "completed_at"])
        # incident_create takes "now" for responded_at a moment before the row gets its created_at.
        Incident.objects.filter(pk__in=self.ids, responded_at__lt=F("created_at")).update(
            responded_at=F("created_at")
        )
        # The change history holds milestone times as values too.
        incident_type = ContentType.objects.get_for_model(Incident)
        review_type = ContentType.objects.get_for_model(PostIncidentReview)
        reviews = list(
            PostIncidentReview.objects.filter(incident_id__in=self.ids).values_list("pk", flat=True)
        )
        stamps = {"responded_at", "resolved_at", "closed_at", "major_declared_at", "completed_at"}
        records = ChangeRecord.objects.filter(
            Q(content_type=incident_type, object_id__in=self.ids)
            | Q(content_type=review_type, object_id__in=reviews),
            changes__has_any_keys=sorted(stamps),
        )
        changed = []
        for record in records:
            for key in stamps & set(record.changes):
                for side in ("old", "new"):
                    value = record.changes[key].get(side)
                    if isinstance(value, str) and value:
                        record.changes[key][side] = clock.shift(
                            datetime.datetime.fromisoformat(value)
                        ).isoformat()
            changed.append(record)
        ChangeRecord.objects.bulk_update(changed, ["changes"], batch_size=500)
        # Old notifications were read (and e-mailed) long ago; only the last day's are news.
        Notification.objects.filter(
            content_type=incident_type,
            object_id__in=self.ids,
            created_at__lt=self.now - datetime.timedelta(days=1),
            emailed_at__isnull=True,
        ).update(emailed_at=F("created_at"), read_at=F("created_at"))
