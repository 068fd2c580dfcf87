"""The demo organisation's service catalogue, teams and their dependency graph, as data.

Read it as the picture an IT department would draw on a whiteboard: power and the core network
at the bottom, identity in the middle, the services people use at the top. Each service lists
the services it depends on by hashtag; the loader adds them in this order, so a dependency is
always created before the services that need it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import slugify

from hashdesk.catalog.choices import CIKind, Criticality, Visibility

DEMO_DOMAIN = "demo.hashdesk.test"


@dataclass(frozen=True)
class TeamPlan:
    name: str
    description: str
    # How many IT staff (agents) belong to the team, besides the demo accounts.
    size: int

    @property
    def email(self) -> str:
        return f"{slugify(self.name)}@{DEMO_DOMAIN}"


TEAMS = (
    TeamPlan("Service Desk", "First line: answers the phone, the portal and the wall.", 10),
    TeamPlan("Network", "Core network, Wi-Fi, VPN, DNS and DHCP.", 6),
    TeamPlan("Identity & Access", "Directory, single sign-on, MFA and access requests.", 4),
    TeamPlan("Workplace", "Laptops, phones, printing and software for everyone.", 7),
    TeamPlan("Messaging", "E-mail, chat and video conferencing.", 4),
    TeamPlan("ERP Support", "ERP, procurement, payroll and reporting applications.", 5),
    TeamPlan("Business Applications", "HR portal, CRM, intranet and the public website.", 4),
    TeamPlan("Data Centre", "Power, storage, virtualisation, databases and backup.", 5),
    TeamPlan("Security", "Security operations, endpoint protection and firewalls.", 4),
    TeamPlan("Change Advisory Board", "Reviews and schedules changes to production.", 0),
)

CATEGORIES = (
    "Workplace & devices",
    "Collaboration",
    "Network & connectivity",
    "Identity & security",
    "Business applications",
    "Infrastructure",
    "Service desk",
)


@dataclass(frozen=True)
class ServicePlan:
    hashtag: str
    name: str
    category: str
    owner: str
    criticality: str
    visibility: str
    description: str
    depends_on: tuple[str, ...]
    # Configuration items: (name prefix, kind, how many, where).
    items: tuple[tuple[str, str, int, str], ...]


C, H, M, L = Criticality.CRITICAL, Criticality.HIGH, Criticality.MEDIUM, Criticality.LOW
PUBLIC, INTERNAL, CONFIDENTIAL = Visibility.PUBLIC, Visibility.INTERNAL, Visibility.CONFIDENTIAL
SRV, NET, APP, DB, END, CLOUD, OTHER = (
    CIKind.SERVER, CIKind.NETWORK, CIKind.APPLICATION, CIKind.DATABASE, CIKind.ENDPOINT,
    CIKind.CLOUD, CIKind.OTHER,
)  # fmt: skip
INFRA, NETCAT, IDSEC = "Infrastructure", "Network & connectivity", "Identity & security"
COLLAB, WORK, BIZ, DESK = (
    "Collaboration", "Workplace & devices", "Business applications", "Service desk",
)  # fmt: skip

SERVICES = (
    # --- Infrastructure: the bottom of the graph ------------------------------------------
    ServicePlan("dcpower", "Data centre power", INFRA, "Data Centre", C, INTERNAL,
                "UPS, generators and power distribution of both data centre rooms.", (),
                (("dc-ups", OTHER, 2, "DC1"),)),
    ServicePlan("corenet", "Core network", INFRA, "Network", C, INTERNAL,
                "Core switches and the links between the buildings and the data centre.",
                ("dcpower",), (("core-sw", NET, 2, "DC1"),)),
    ServicePlan("storage", "Storage", INFRA, "Data Centre", C, INTERNAL,
                "The storage area network behind virtual machines and file shares.",
                ("dcpower", "corenet"), (("san-array", SRV, 2, "DC1"),)),
    ServicePlan("virtualisation", "Virtualisation platform", INFRA, "Data Centre", C, INTERNAL,
                "The hypervisor cluster most servers run on.", ("dcpower", "storage", "corenet"),
                (("esx-host", SRV, 3, "DC1"),)),
    ServicePlan("database", "Database platform", INFRA, "Data Centre", H, INTERNAL,
                "Shared PostgreSQL and SQL Server clusters for business applications.",
                ("virtualisation", "storage"), (("db-cluster", DB, 2, "DC1"),)),
    ServicePlan("backup", "Backup", INFRA, "Data Centre", H, INTERNAL,
                "Nightly backups of servers, databases and file shares; restores on request.",
                ("storage", "virtualisation"), (("backup-srv", SRV, 1, "DC2"),)),
    ServicePlan("firewall", "Firewall", INFRA, "Security", C, INTERNAL,
                "Perimeter and internal firewalls.", ("corenet",), (("fw", NET, 2, "DC1"),)),
    ServicePlan("internet", "Internet access", NETCAT, "Network", C, INTERNAL,
                "The two internet uplinks and the web proxy.", ("corenet", "firewall"),
                (("edge-router", NET, 2, "DC1"),)),
    ServicePlan("dns", "DNS", NETCAT, "Network", C, INTERNAL,
                "Internal and external name resolution.", ("virtualisation", "corenet"),
                (("dns", SRV, 2, "DC1"),)),
    ServicePlan("dhcp", "DHCP", NETCAT, "Network", H, INTERNAL,
                "Address assignment for wired and wireless clients.",
                ("virtualisation", "corenet"), (("dhcp", SRV, 2, "DC1"),)),
    # --- Identity -------------------------------------------------------------------------
    ServicePlan("directory", "Directory", IDSEC, "Identity & Access", C, INTERNAL,
                "Active Directory: accounts, groups and computer objects.",
                ("dns", "virtualisation"), (("dc", SRV, 3, "DC1"),)),
    ServicePlan("mfa", "Multi-factor authentication", IDSEC, "Identity & Access", C, PUBLIC,
                "Second factor for sign-in: authenticator app and hardware keys.",
                ("directory", "internet"), (("mfa-app", APP, 1, "Cloud"),)),
    ServicePlan("sso", "Single sign-on", IDSEC, "Identity & Access", C, PUBLIC,
                "One sign-in for every web application.", ("directory", "mfa", "dns"),
                (("idp", SRV, 2, "DC1"),)),
    ServicePlan("nac", "Network access control", IDSEC, "Network", H, INTERNAL,
                "RADIUS for Wi-Fi and wired port authentication.", ("directory",),
                (("radius", SRV, 2, "DC1"),)),
    ServicePlan("pam", "Privileged access management", IDSEC, "Security", H, CONFIDENTIAL,
                "Vaulted administrator credentials and session recording.",
                ("directory", "mfa"), (("pam-vault", APP, 1, "DC2"),)),
    ServicePlan("secops", "Security operations", IDSEC, "Security", H, CONFIDENTIAL,
                "SIEM, log collection and the security incident response process.",
                ("virtualisation", "storage"), (("siem", APP, 1, "DC2"),
                                                ("log-collector", SRV, 2, "DC2"))),
    ServicePlan("edr", "Endpoint protection", IDSEC, "Security", H, INTERNAL,
                "Malware protection and response on laptops and servers.", ("internet",),
                (("edr-console", CLOUD, 1, "Cloud"),)),
    # --- Network people touch --------------------------------------------------------------
    ServicePlan("vpn", "VPN", NETCAT, "Network", H, PUBLIC,
                "Remote access to the internal network.",
                ("sso", "mfa", "firewall", "internet", "dns"), (("vpn-gw", NET, 2, "DC1"),)),
    ServicePlan("wifi-a", "Wi-Fi Building A", NETCAT, "Network", M, PUBLIC,
                "Staff and guest wireless in Building A.", ("corenet", "dhcp", "dns", "nac"),
                (("ap-a", NET, 3, "Building A"),)),
    ServicePlan("wifi-b", "Wi-Fi Building B", NETCAT, "Network", M, PUBLIC,
                "Staff and guest wireless in Building B.", ("corenet", "dhcp", "dns", "nac"),
                (("ap-b", NET, 3, "Building B"),)),
    ServicePlan("wifi-c", "Wi-Fi Building C", NETCAT, "Network", M, PUBLIC,
                "Staff and guest wireless in Building C.", ("corenet", "dhcp", "dns", "nac"),
                (("ap-c", NET, 3, "Building C"),)),
    # --- Collaboration -----------------------------------------------------------------------
    ServicePlan("email", "E-mail", COLLAB, "Messaging", C, PUBLIC,
                "Mailboxes, shared mailboxes and calendars.",
                ("directory", "sso", "dns", "internet"), (("mail-gw", SRV, 2, "DC1"),)),
    ServicePlan("chat", "Teams and chat", COLLAB, "Messaging", H, PUBLIC,
                "Team chat and channels.", ("sso", "internet"),
                (("chat-tenant", CLOUD, 1, "Cloud"),)),
    ServicePlan("video", "Video conferencing", COLLAB, "Messaging", M, PUBLIC,
                "Meetings, meeting room systems and webinars.", ("sso", "internet", "chat"),
                (("room-system", END, 3, "Building A"),)),
    ServicePlan("intranet", "Intranet", COLLAB, "Business Applications", M, PUBLIC,
                "News, policies and the staff directory.", ("sso", "virtualisation", "database"),
                (("intranet-web", SRV, 2, "DC1"),)),
    ServicePlan("fileshares", "File shares", COLLAB, "Data Centre", H, INTERNAL,
                "Department and project drives.", ("directory", "storage", "backup"),
                (("filer", SRV, 2, "DC1"),)),
    ServicePlan("printing", "Printing", WORK, "Workplace", L, PUBLIC,
                "Follow-me printing on the multifunction printers in every building.",
                ("directory", "corenet", "dhcp"), (("print-srv", SRV, 1, "DC1"),
                                                   ("mfp", END, 4, "Building B"))),
    ServicePlan("telephony", "Telephony", WORK, "Workplace", H, PUBLIC,
                "Desk phones, the switchboard and call queues.", ("corenet", "internet", "dhcp"),
                (("sbc", NET, 2, "DC1"),)),
    ServicePlan("mdm", "Device management", WORK, "Workplace", H, INTERNAL,
                "Enrolment, policies and app delivery for laptops and phones.",
                ("sso", "internet"), (("mdm-tenant", CLOUD, 1, "Cloud"),)),
    ServicePlan("laptops", "Laptops", WORK, "Workplace", M, PUBLIC,
                "Standard laptops, docking stations and repairs.", ("directory", "mdm", "edr"),
                (("laptop-image", APP, 1, "Workshop"),)),
    ServicePlan("mobile", "Mobile phones", WORK, "Workplace", M, PUBLIC,
                "Company smartphones and their contracts.", ("mdm", "email"),
                (("mobile-fleet", END, 1, "Workshop"),)),
    ServicePlan("software", "Software distribution", WORK, "Workplace", L, INTERNAL,
                "The self-service software catalogue and packaging.", ("mdm", "fileshares"),
                (("sw-dist", SRV, 1, "DC1"),)),
    ServicePlan("rdp", "Remote desktop", WORK, "Workplace", M, PUBLIC,
                "Virtual desktops for remote and specialist work.",
                ("vpn", "virtualisation", "directory"), (("rds-host", SRV, 3, "DC1"),)),
    # --- Business applications ---------------------------------------------------------------
    ServicePlan("erp", "ERP", BIZ, "ERP Support", C, INTERNAL,
                "Finance, orders, stock and logistics.", ("sso", "database", "virtualisation"),
                (("erp-app", APP, 2, "DC1"),)),
    ServicePlan("procurement", "Procurement", BIZ, "ERP Support", M, INTERNAL,
                "Purchase requests, approvals and supplier catalogues.", ("erp", "sso"),
                (("proc-app", APP, 1, "DC1"),)),
    ServicePlan("hr", "HR portal", BIZ, "Business Applications", H, INTERNAL,
                "Leave, contracts, onboarding and offboarding.", ("sso", "database"),
                (("hr-app", APP, 1, "Cloud"),)),
    ServicePlan("payroll", "Payroll", BIZ, "ERP Support", H, CONFIDENTIAL,
                "Monthly payroll runs and payslips.", ("hr", "erp"),
                (("payroll-app", APP, 1, "DC2"),)),
    ServicePlan("crm", "CRM", BIZ, "Business Applications", H, INTERNAL,
                "Customers, opportunities and the sales pipeline.", ("sso", "internet"),
                (("crm-tenant", CLOUD, 1, "Cloud"),)),
    ServicePlan("reporting", "Reporting", BIZ, "ERP Support", M, INTERNAL,
                "Dashboards and the data warehouse.", ("erp", "crm", "database"),
                (("dwh", DB, 1, "DC1"),)),
    ServicePlan("website", "Public website", BIZ, "Business Applications", H, PUBLIC,
                "The organisation's public website and customer contact forms.",
                ("internet", "dns"), (("web-cdn", CLOUD, 1, "Cloud"),)),
    # --- The service desk itself --------------------------------------------------------------
    ServicePlan("servicedesk", "Service desk portal", DESK, "Service Desk", H, PUBLIC,
                "Hashdesk: the wall, incidents, requests and the status page.",
                ("sso", "email"), (("hashdesk", APP, 1, "DC1"),)),
)  # fmt: skip
