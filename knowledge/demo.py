"""Demo knowledge base: seven categories, fifteen published articles (most for end users, some for
agents only, one for the Finance organisation) tied to the demo's services, two drafts and one in
review; one article written from a resolved incident of the incident demo and one from the VPN known
error of the problems demo (both linked to their source), a few votes and reads.

Written through ``knowledge.services`` (revisions, history, timeline and links are real). Idempotent:
nothing is loaded when the password article is already there.
"""

from __future__ import annotations

from django.db import transaction

from configuration.models import ConfigurationItem
from incidents.choices import Status as IncidentStatus
from incidents.models import Incident
from knowledge import services, sources
from knowledge.models import Article, Category
from people.models import Organisation, User

FIRST = "Reset a forgotten password"

CATEGORIES = [
    ("Accounts and passwords", "Signing in, passwords, multi-factor authentication."),
    ("Network and VPN", "Working from home, Wi-Fi, the VPN client."),
    ("E-mail and calendar", "Outlook, shared mailboxes, meeting rooms."),
    ("Printing", "Office printers and scanning."),
    ("Laptops and devices", "Laptops, docking stations, phones."),
    ("Business applications", "Payroll, the online shop, the support portal."),
    ("Security", "Phishing, lost devices, safe working."),
]

# (title, category, services, audience, summary, body)
ARTICLES = [
    (
        FIRST,
        "Accounts and passwords",
        ["Identity and single sign-on"],
        "end_users",
        "Choose a new password yourself at the self-service page, in two minutes.",
        "If you forgot your password or it has expired:\n\n"
        "1. Open the **password self-service** page from any browser.\n"
        "2. Enter your user name and confirm the code sent to your phone.\n"
        "3. Choose a new password: at least 14 characters; a short sentence works well.\n\n"
        "Your new password works everywhere within five minutes. If the code never arrives, "
        "call the service desk.",
    ),
    (
        "Set up multi-factor authentication on a new phone",
        "Accounts and passwords",
        ["Identity and single sign-on"],
        "end_users",
        "Move your sign-in approvals to a new phone before you reset the old one.",
        "1. On your **old** phone, open the authenticator app and choose *Transfer accounts*.\n"
        "2. On the new phone, install the authenticator app and scan the code shown.\n"
        "3. Sign in once to check the approval reaches the new phone.\n\n"
        "Lost the old phone? Call the service desk: we verify who you are and reset it.",
    ),
    (
        "VPN disconnects every few minutes at home",
        "Network and VPN",
        ["Network"],
        "end_users",
        "Update the VPN client to the latest version from the software centre.",
        "Older VPN clients drop the connection when the laptop saves power.\n\n"
        "1. Open the **Software Centre**.\n2. Install *VPN client* (the newest version).\n"
        "3. Restart the laptop and connect again.\n\n"
        "Still dropping? Switch the laptop's power mode to *Best performance* while on the VPN.",
    ),
    (
        "Connect to the office Wi-Fi",
        "Network and VPN",
        ["Network"],
        "end_users",
        "Choose the CORP network and sign in with your usual account.",
        "- Network: **CORP** (not *CORP-GUEST*, which is for visitors).\n"
        "- Sign in with your usual user name and password.\n"
        "- Accept the certificate *corp-radius.example.com* the first time.\n\n"
        "Meeting rooms on floor 3 can be slow at busy times; move closer to the access point.",
    ),
    (
        "Outlook keeps asking for the password",
        "E-mail and calendar",
        ["E-mail and collaboration"],
        "end_users",
        "Remove the stored credentials and sign in once again.",
        "1. Close Outlook.\n2. Open **Credential Manager** > *Windows Credentials*.\n"
        "3. Remove every entry starting with *MicrosoftOffice*.\n4. Start Outlook and sign in.\n\n"
        "If the prompt comes back within a day, tell the service desk: your profile may need rebuilding.",
    ),
    (
        "Open a shared mailbox",
        "E-mail and calendar",
        ["E-mail and collaboration"],
        "end_users",
        "Shared mailboxes appear by themselves once access is granted; here is how to add one by hand.",
        "Access is granted by the mailbox owner through a request to the service desk.\n\n"
        "To add it by hand: *File* > *Account settings* > *Change* > *More settings* > *Advanced* > "
        "*Add*, then type the mailbox's address.",
    ),
    (
        "Book a meeting room with a screen",
        "E-mail and calendar",
        ["E-mail and collaboration"],
        "end_users",
        "Use the Room finder in the calendar and filter on 'Display'.",
        "In a new meeting, open **Room finder**, choose the building and tick *Display*. "
        "Rooms with a screen show a monitor icon.",
    ),
    (
        "Printer prints blank pages",
        "Printing",
        [],
        "end_users",
        "Usually an empty toner or a driver left over from an old printer.",
        "1. Print a test page from the printer's own menu. Blank? The toner is empty: tell the service desk.\n"
        "2. Test page fine? Remove the printer from *Printers & scanners* and add it again from the "
        "**Software Centre**.",
    ),
    (
        "Scan a document to your e-mail",
        "Printing",
        [],
        "end_users",
        "Badge in at the printer, choose Scan to me.",
        "Hold your badge to the reader, choose **Scan to me**, place the pages face down and press *Start*. "
        "The PDF arrives in your inbox within a minute.",
    ),
    (
        "Laptop does not wake from the docking station",
        "Laptops and devices",
        [],
        "end_users",
        "Unplug the dock's power for ten seconds, then update the dock's firmware.",
        "1. Unplug the dock's power cable for ten seconds.\n2. Plug it in, then the laptop.\n"
        "3. Install *Dock firmware* from the Software Centre.",
    ),
    (
        "Payslips show last month's figures",
        "Business applications",
        ["Payroll"],
        "organisation",
        "Finance: refresh the payroll cache after the monthly run (Finance only).",
        "After the monthly payroll run, payslips can show the previous month until the cache is refreshed.\n\n"
        "In **PayFlow**, open *Admin* > *Caches* and choose *Refresh payslips*. It takes about a minute.",
    ),
    (
        "Report a phishing e-mail",
        "Security",
        ["E-mail and collaboration"],
        "end_users",
        "Use the Report button in Outlook; never click links in a suspicious message.",
        "Choose **Report** > *Phishing* in Outlook. The message is removed and the security team is told.\n\n"
        "Clicked a link or typed your password? Change your password at once and call the service desk.",
    ),
    (
        "Checkout errors in the online shop: first checks",
        "Business applications",
        ["Online shop"],
        "agents",
        "For agents: what to check before escalating a checkout incident to the applications team.",
        "1. Check the **event console** for alerts on *shopfront* and *orders*.\n"
        "2. Look for a running major incident on *Online shop*: link the caller's incident as a child.\n"
        "3. Ask for the order number and the time; attach the customer's screenshot.\n\n"
        "Escalate to **Applications** with those facts.",
    ),
    (
        "Unlock a user account in the directory",
        "Accounts and passwords",
        ["Identity and single sign-on"],
        "agents",
        "For agents: verify the caller, then unlock in the directory console.",
        "1. Verify the caller with two facts from their record (manager and location).\n"
        "2. In the directory console, find the account and choose *Unlock*.\n"
        "3. Do **not** reset the password unless asked: point them to the self-service page.",
    ),
    (
        "Database platform failover: what the desk tells callers",
        "Business applications",
        ["Database platform"],
        "agents",
        "For agents: the wording to use while the database platform fails over.",
        "Say: *We know the applications are slow; a database is switching to its standby and service "
        "returns within 15 minutes.* Link calls to the running incident rather than opening new ones.",
    ),
]

DRAFTS = [
    (
        "Install the new VPN client on a Mac",
        "Network and VPN",
        "draft",
        "Steps for macOS are being written.",
        "Draft: check the installer name with the network team.",
    ),
    (
        "Working safely on public Wi-Fi",
        "Security",
        "draft",
        "",
        "Use the VPN on any network you do not control.",
    ),
    (
        "Request access to PayFlow",
        "Business applications",
        "in_review",
        "Who approves PayFlow access and how long it takes.",
        "Your manager approves; access is granted within a working day.",
    ),
]


def load_demo() -> str:
    if Article.objects.filter(title=FIRST).exists():
        return "0 articles created (demo articles already there)"
    agent = User.objects.filter(username="agent").first()
    if agent is None:
        return "skipped: the people demo's users are missing"
    with transaction.atomic():
        created = _load(agent)
    return f"{created} articles created"


def _load(agent) -> int:
    categories = {}
    for order, (name, description) in enumerate(CATEGORIES):
        categories[name], _ = Category.objects.get_or_create(
            name=name, defaults={"description": description, "order": (order + 1) * 10}
        )
    services_by_name = {ci.name: ci for ci in ConfigurationItem.objects.filter(ci_class__is_service=True)}
    finance = Organisation.objects.filter(code="fin").first()
    owner = User.objects.filter(username="manager").first() or agent
    count = 0
    published = []
    for title, category, service_names, audience, summary, body in ARTICLES:
        if audience == "organisation" and finance is None:
            audience = "end_users"
        article = services.article_create(
            actor=agent,
            fields={
                "title": title,
                "summary": summary,
                "body": body,
                "audience": audience,
                "organisation": finance if audience == "organisation" else None,
                "category": categories[category],
                "services": [services_by_name[n] for n in service_names if n in services_by_name],
                "owner": owner,
            },
        )
        published.append(services.article_transition(article=article, actor=owner, to="published"))
        count += 1
    for title, category, status, summary, body in DRAFTS:
        article = services.article_create(
            actor=agent,
            fields={"title": title, "summary": summary, "body": body, "category": categories[category]},
        )
        if status != "draft":
            services.article_transition(article=article, actor=agent, to=status)
        count += 1
    # A revision, so the diff view has something to show.
    services.article_update(
        article=published[0],
        actor=owner,
        changes={
            "body": published[0].body.replace(
                "at least 14 characters", "at least 14 characters (16 for admins)"
            )
        },
        note="Admins need longer passwords",
    )
    count += _from_records(agent)
    _feedback(published)
    return count


def _from_records(agent) -> int:
    """An article from a resolved incident of the incident demo, and one from the VPN known error."""
    count = 0
    incident = (
        Incident.objects.filter(status__in=(IncidentStatus.RESOLVED, IncidentStatus.CLOSED))
        .exclude(resolution_notes="")
        .exclude(is_security=True)
        .order_by("-id")
        .first()
    )
    if incident is not None:
        draft = sources.draft_from_incident(agent, incident.pk)
        services.article_create(
            actor=agent, fields=draft.initial, link_to=draft.source, note="From a resolved incident"
        )
        count += 1
    model = sources.known_error_model()
    known_error = model.objects.order_by("id").first() if model is not None else None
    if known_error is not None:
        draft = sources.draft_from_known_error(agent, known_error.pk)
        article = services.article_create(
            actor=agent, fields=draft.initial, link_to=draft.source, note="From a known error"
        )
        services.article_transition(article=article, actor=agent, to="in_review")
        count += 1
    return count


def _feedback(published) -> None:
    end_user = User.objects.filter(username="enduser").first()
    colleagues = list(User.objects.filter(groups__name="end_user").exclude(username="enduser")[:4])
    for index, article in enumerate(published[:8]):
        if end_user is not None and article.audience == "end_users":
            services.article_vote(article=article, user=end_user, helpful=index % 3 != 2)
        for colleague in colleagues[: index % 4]:
            services.article_vote(article=article, user=colleague, helpful=True)
        Article.objects.filter(pk=article.pk).update(view_count=40 - index * 4)
    if end_user is not None and len(published) > 4:
        services.article_vote(
            article=published[4], user=end_user, helpful=False, comment="Credential Manager is hard to find."
        )
        services.self_help_record(user=end_user, article=published[0], query="forgot my password")
