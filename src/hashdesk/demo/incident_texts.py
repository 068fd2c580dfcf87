"""What people report about each demo service, and what the desk answers: text for the history.

Written for this project, in the words people use on a service desk. Each service has a few
recurring issues (title, description, category, the impact and urgency a first-line agent would
set, how it was resolved, and what the desk tells the requester meanwhile), and the services that
have outages have one outage story with the official updates of a major incident.

Placeholders filled per incident: ``{site}`` (the reporter's site), ``{ci}`` (a configuration
item of the service) and ``{n}`` (a small number).
"""

from __future__ import annotations

from dataclasses import dataclass

from hashdesk.incidents.choices import Category

HW, SW, NET, ACCESS, SEC, REQ, OTHER = (
    Category.HARDWARE, Category.SOFTWARE, Category.NETWORK, Category.ACCESS, Category.SECURITY,
    Category.REQUEST, Category.OTHER,
)  # fmt: skip


@dataclass(frozen=True)
class Issue:
    title: str
    description: str
    category: str
    # 1 high .. 3 low, as the reporter or the first-line agent sets them.
    impact: int
    urgency: int
    resolution: str
    # A public update the desk posts while working on it.
    update: str = ""


@dataclass(frozen=True)
class Outage:
    title: str
    description: str
    reason: str
    # Official updates, in order; a major incident posts as many as its duration needs.
    updates: tuple[str, ...]
    resolution: str


# Said by the desk on any incident, whatever the service.
GENERIC_UPDATES = (
    "Thanks for reporting this. We are looking into it and will update you here.",
    "We can reproduce the problem and are working on a fix.",
    "We have asked the team that runs this service to take a look.",
    "A fix is ready; we will apply it this afternoon and let you know.",
    "Could you try again now? We changed a setting on our side.",
)
WORK_NOTES = (
    "Checked the logs around the reported time: errors match the description.",
    "Same symptom seen last month; see the previous incident for the workaround.",
    "Remote session with the user: reproduced the problem, collected diagnostics.",
    "Escalated to the vendor; case number in the supplier portal.",
    "Not a known error yet. Monitoring shows nothing unusual on the servers.",
    "Rolled out the config change to a pilot group first.",
)
HOLD_QUESTIONS = (
    "Could you send us a screenshot of the error message and the time it happened?",
    "When are you back in the office? We need to look at the device in person.",
    "Does it also happen on another device or network? Please let us know.",
)
REQUESTER_REPLIES = (
    "Screenshot attached; it happened again at about ten past nine.",
    "I am in tomorrow from 9, please come by my desk.",
    "Yes, it happens on my phone too, but only on the office network.",
)
SUPPLIER_HOLDS = (
    "Waiting for the vendor to ship a replacement part.",
    "The supplier has confirmed the bug and is preparing a patch.",
)
CANCELLATIONS = (
    "It works again after a restart; sorry for the noise.",
    "Solved it myself: the cable was loose.",
    "A colleague already reported this; cancelling mine.",
)


def _i(
    title: str, description: str, category: str, impact: int, urgency: int, resolution: str,
    update: str = "",
) -> Issue:  # fmt: skip
    return Issue(title, description, category, impact, urgency, resolution, update)


ISSUES: dict[str, tuple[Issue, ...]] = {
    "dcpower": (
        _i(
            "UPS {ci} reports battery fault",
            "Monitoring: the UPS self-test failed on {ci}; runtime on battery is below 5 minutes.",
            HW,
            2,
            2,
            "Battery string replaced by the facilities contractor; self-test passes.",
        ),
        _i(
            "Power feed B lost in the server room",
            "One of the two power feeds of rack row {n} dropped. Everything is running on feed A.",
            HW,
            2,
            1,
            "Tripped breaker reset by the electrician; both feeds are back.",
        ),
    ),
    "corenet": (
        _i(
            "Packet loss between {site} and the data centre",
            "Pings to servers show {n}% loss from {site} since this morning.",
            NET,
            2,
            2,
            "A faulty optic on the uplink was replaced; no loss since.",
        ),
        _i(
            "Core switch {ci} CPU at 95%",
            "Monitoring alert: CPU of {ci} above 90% for 15 minutes.",
            NET,
            2,
            2,
            "A broadcast storm from a misconfigured port was stopped.",
        ),
    ),
    "storage": (
        _i(
            "Disk latency above 50 ms on {ci}",
            "Monitoring: read latency on {ci} has been high "
            "for 20 minutes; virtual machines feel slow.",
            HW,
            2,
            2,
            "A failed disk was rebuilding; latency normal after the rebuild finished.",
        ),
        _i(
            "Storage pool at 90% capacity",
            "The main pool on {ci} is 90% full and grows about 1% a week.",
            HW,
            3,
            2,
            "Old snapshots removed and capacity extended.",
        ),
    ),
    "virtualisation": (
        _i(
            "Host {ci} not responding",
            "The hypervisor {ci} dropped out of the cluster; its "
            "virtual machines restarted on other hosts.",
            HW,
            2,
            1,
            "Memory module replaced; host back in the cluster.",
        ),
        _i(
            "Virtual machine console does not open",
            "The web console shows a black screen for every VM on {ci}.",
            SW,
            3,
            3,
            "Management agent restarted on the host.",
        ),
    ),
    "database": (
        _i(
            "Database {ci} replication lag",
            "Replication lag on {ci} is above 10 minutes; reports show old figures.",
            SW,
            2,
            2,
            "A long-running query was killed; lag gone.",
        ),
        _i(
            "Slow queries on the ERP database",
            "Month-end reports time out; the database server is at 100% I/O.",
            SW,
            2,
            2,
            "Missing index added after review with ERP team.",
        ),
    ),
    "backup": (
        _i(
            "Nightly backup of {ci} failed",
            "The backup job for {ci} ended with errors last night.",
            SW,
            3,
            2,
            "Job re-run successfully; cause was a full staging disk.",
        ),
        _i(
            "Restore of a deleted folder",
            "I deleted the folder 'Contracts {n}' on the project "
            "drive by mistake yesterday. Can it be restored?",
            REQ,
            3,
            2,
            "Folder restored from last night's backup to its original place.",
        ),
    ),
    "firewall": (
        _i(
            "Firewall {ci} session table nearly full",
            "Monitoring: 85% of the session table used on {ci}.",
            NET,
            2,
            2,
            "Idle timeout lowered for a chatty application.",
        ),
        _i(
            "Partner cannot reach our SFTP server",
            "Our logistics partner reports timeouts "
            "connecting to the SFTP server since the weekend.",
            NET,
            3,
            2,
            "Partner's new source addresses added to the firewall rule.",
        ),
    ),
    "internet": (
        _i(
            "Websites load very slowly in {site}",
            "Everything on the internet takes 10+ seconds to load; internal sites are fine.",
            NET,
            2,
            2,
            "Web proxy cache disk was full; cleaned and alerting added.",
            "We see high load on the web proxy and are working on it.",
        ),
        _i(
            "Cannot open a supplier website",
            "The supplier portal is blocked with 'category not allowed'.",
            NET,
            3,
            3,
            "Site re-categorised in the web filter.",
        ),
    ),
    "dns": (
        _i(
            "Internal names do not resolve from {site}",
            "Some PCs cannot reach intranet or file shares by name, only by IP address.",
            NET,
            2,
            2,
            "A stale forwarder entry was removed from {ci}.",
        ),
        _i(
            "DNS server {ci} not answering",
            "Monitoring: {ci} fails health checks.",
            NET,
            2,
            2,
            "Service restarted; root cause was a full log partition.",
        ),
    ),
    "dhcp": (
        _i(
            "No IP address on the wired network in {site}",
            "Laptops in meeting room {n} get a 169.254 address when docked.",
            NET,
            2,
            2,
            "The address scope for the floor was exhausted; scope extended.",
        ),
    ),
    "directory": (
        _i(
            "Account locked out repeatedly",
            "My account gets locked every morning although I type the right password.",
            ACCESS,
            3,
            2,
            "An old phone kept trying a stale password; removed the mail profile from it.",
        ),
        _i(
            "Group membership not applied",
            "I was added to the Finance group yesterday but still cannot open the Finance drive.",
            ACCESS,
            3,
            2,
            "Signed out and in again after replication; access works.",
        ),
    ),
    "mfa": (
        _i(
            "MFA push notifications not arriving",
            "I don't get the sign-in approval on my phone any more; I have to use the code.",
            ACCESS,
            3,
            2,
            "Re-registered the authenticator app on the new phone.",
            "We have sent you a link to register your phone again.",
        ),
        _i(
            "New phone: need to move my authenticator",
            "I got a new phone and the old one is wiped. I cannot sign in anywhere.",
            ACCESS,
            3,
            1,
            "Identity verified by phone; temporary access pass issued and app registered.",
        ),
        _i(
            "Hardware key not recognised",
            "My security key blinks but the sign-in page says the key is not registered.",
            ACCESS,
            3,
            2,
            "Key re-enrolled at the service desk.",
        ),
    ),
    "sso": (
        _i(
            "Sign-in loop on the HR portal",
            "After signing in I land back on the sign-in page, again and again.",
            ACCESS,
            3,
            2,
            "Cleared a broken session cookie; fixed.",
            "Please clear your browser cookies for the sign-in page and try again.",
        ),
        _i(
            "'Your account is not allowed' when opening CRM",
            "Single sign-on says I have no access to CRM but my manager approved it.",
            ACCESS,
            3,
            2,
            "Application assignment added in the identity provider.",
        ),
        _i(
            "Single sign-on very slow",
            "Signing in takes about a minute in the morning.",
            ACCESS,
            2,
            2,
            "One identity server was overloaded; load balancer rebalanced.",
        ),
    ),
    "nac": (
        _i(
            "Laptop stuck in the guest VLAN",
            "My laptop only gets the guest network when docked in {site}.",
            NET,
            3,
            2,
            "Machine certificate renewed; correct VLAN now.",
        ),
    ),
    "pam": (
        _i(
            "Cannot check out the admin password for {ci}",
            "The vault says my role does not allow access to {ci}.",
            ACCESS,
            3,
            2,
            "Role mapping corrected after approval.",
        ),
        _i(
            "Session recording missing",
            "The recording of yesterday's admin session on {ci} is not in the vault.",
            SEC,
            3,
            2,
            "Recording agent restarted; gap documented.",
        ),
    ),
    "secops": (
        _i(
            "Phishing e-mail reported",
            "I received an e-mail asking me to confirm my password "
            "on a strange website. I did not click the link.",
            SEC,
            2,
            2,
            "Message removed from all mailboxes; sender blocked; no one entered credentials.",
        ),
        _i(
            "Suspicious sign-in alert for a user",
            "SIEM alert: sign-in from an unusual country for one account.",
            SEC,
            2,
            1,
            "User confirmed travel; MFA was satisfied; closed as benign.",
        ),
        _i(
            "I clicked a link in a phishing mail",
            "I clicked a link and typed my password before I noticed. What do I do now?",
            SEC,
            2,
            1,
            "Password reset, sessions revoked, mailbox rules checked; no misuse found.",
        ),
    ),
    "edr": (
        _i(
            "Endpoint protection blocks a business app",
            "Our label printing tool is quarantined as soon as I start it.",
            SEC,
            3,
            2,
            "Vendor-signed binary allow-listed.",
        ),
        _i(
            "Malware alert on a laptop",
            "EDR alert: a trojan was blocked in the downloads folder of one laptop.",
            SEC,
            2,
            2,
            "Full scan clean; file deleted; user informed.",
        ),
    ),
    "vpn": (
        _i(
            "VPN drops every few minutes",
            "Since this morning the VPN disconnects every {n} minutes when I work from home.",
            NET,
            3,
            2,
            "Updated the VPN client to the current version; stable since.",
            "We have seen this with an older VPN client. Please install the update from the "
            "software catalogue.",
        ),
        _i(
            "VPN connects but nothing opens",
            "The VPN says connected, but I cannot reach file shares or the intranet.",
            NET,
            3,
            2,
            "Home router used the same address range as the office; VPN profile adjusted.",
        ),
        _i(
            "VPN very slow in the evening",
            "Working from home after 17:00 the VPN is so slow that RDP sessions freeze.",
            NET,
            2,
            3,
            "Gateway {ci} licence limit raised; capacity monitoring added.",
        ),
        _i(
            "Cannot install the VPN client",
            "The installer stops with error {n}.",
            SW,
            3,
            3,
            "Installed with admin rights through the software catalogue.",
        ),
    ),
    "wifi-a": (
        _i(
            "Wi-Fi weak on the 3rd floor of Building A",
            "The signal drops in the meeting rooms on the 3rd floor; video calls freeze.",
            NET,
            3,
            2,
            "Access point {ci} had failed; replaced.",
        ),
        _i(
            "Cannot join the staff Wi-Fi in Building A",
            "My laptop says 'cannot connect to this network' since today.",
            NET,
            3,
            2,
            "Wi-Fi profile re-deployed to the laptop.",
        ),
    ),
    "wifi-b": (
        _i(
            "Wi-Fi keeps disconnecting in Building B",
            "The Wi-Fi drops every few minutes in the open office of Building B.",
            NET,
            3,
            2,
            "Channel plan changed to avoid interference from a new neighbour network.",
        ),
        _i(
            "Guest Wi-Fi in Building B not working",
            "Visitors get no sign-in page for the guest Wi-Fi.",
            NET,
            3,
            2,
            "Captive portal certificate renewed.",
        ),
    ),
    "wifi-c": (
        _i(
            "No Wi-Fi in the canteen of Building C",
            "There is no Wi-Fi signal at all in the canteen since the renovation.",
            NET,
            3,
            3,
            "Access point reconnected after the renovation; was unplugged.",
        ),
        _i(
            "Wi-Fi slow in Building C",
            "Downloads crawl at 1 Mbit/s on the staff Wi-Fi.",
            NET,
            3,
            2,
            "Access point {ci} firmware updated.",
        ),
    ),
    "email": (
        _i(
            "Outlook keeps asking for my password",
            "Outlook shows the sign-in prompt again every few minutes.",
            SW,
            3,
            2,
            "Cached credentials cleared; modern authentication re-enabled for the profile.",
            "This is a known problem with stale cached credentials; the fix is being rolled out.",
        ),
        _i(
            "Mailbox full",
            "I get 'your mailbox is full' and cannot send e-mail.",
            REQ,
            3,
            2,
            "Archive enabled and old items moved; mailbox at 60%.",
        ),
        _i(
            "E-mails to an external partner bounce",
            "Messages to our customer bounce with '550 rejected'.",
            SW,
            3,
            2,
            "Partner had blocked our new sending IP; they allow-listed it.",
        ),
        _i(
            "Shared mailbox not showing in Outlook",
            "The team mailbox disappeared from my Outlook after the update.",
            SW,
            3,
            2,
            "Mailbox permission re-applied.",
        ),
        _i(
            "Calendar invites arrive hours late",
            "Meeting invitations from colleagues reach me {n} hours after they were sent.",
            SW,
            3,
            2,
            "A transport rule was misrouting calendar items; corrected.",
        ),
    ),
    "chat": (
        _i(
            "Chat messages not syncing",
            "Messages I send from my phone don't show on my laptop until I restart the app.",
            SW,
            3,
            3,
            "Chat app cache cleared; syncs again.",
        ),
        _i(
            "Cannot join a team channel",
            "I was invited to the project team but the channel does not appear.",
            ACCESS,
            3,
            3,
            "Membership re-added by the team owner.",
        ),
        _i(
            "Chat notifications missing",
            "I no longer get notifications for mentions.",
            SW,
            3,
            3,
            "Notification settings reset by the last update; restored.",
        ),
    ),
    "video": (
        _i(
            "No sound in video meetings",
            "Others cannot hear me in meetings; the headset works in other apps.",
            HW,
            3,
            2,
            "Default audio device corrected in the meeting app.",
        ),
        _i(
            "Meeting room system in {site} not starting",
            "The room system in room {n} shows 'no signal' and the touch panel is dead.",
            HW,
            3,
            2,
            "Room system {ci} power cycled and firmware updated.",
        ),
        _i(
            "Screen sharing shows a black screen",
            "When I share my screen others see only black.",
            SW,
            3,
            2,
            "Graphics driver updated.",
        ),
    ),
    "intranet": (
        _i(
            "Intranet news page shows an error",
            "The news page shows 'error 500' since this morning.",
            SW,
            3,
            3,
            "Intranet application restarted after a plugin update.",
        ),
        _i(
            "Staff directory shows my old department",
            "The staff directory still lists me in Sales; I moved to Marketing.",
            REQ,
            3,
            3,
            "Directory sync re-run for the account.",
        ),
    ),
    "fileshares": (
        _i(
            "Project drive not mapped",
            "The P: drive is missing after I signed in this morning.",
            ACCESS,
            3,
            2,
            "Logon script fixed for the department.",
        ),
        _i(
            "Access denied on the Finance share",
            "I get 'access denied' opening the budget folder.",
            ACCESS,
            3,
            2,
            "Group membership added after the owner approved.",
        ),
        _i(
            "File shares very slow",
            "Opening Excel files on the shares takes a minute.",
            SW,
            2,
            2,
            "Antivirus scan exclusion restored on {ci}.",
        ),
    ),
    "printing": (
        _i(
            "Printer on the 2nd floor of {site} is jammed",
            "The multifunction printer shows 'paper jam in tray {n}' but there is no paper stuck.",
            HW,
            3,
            3,
            "Sensor cleaned by the service technician.",
        ),
        _i(
            "Print jobs stuck in the queue",
            "My documents sit in the follow-me queue and never print when I tap my badge.",
            SW,
            3,
            2,
            "Print spooler restarted on {ci}.",
            "We restarted the print server; please try again.",
        ),
        _i(
            "Badge not recognised at the printer",
            "The printer says 'unknown card' when I tap my new badge.",
            ACCESS,
            3,
            3,
            "New badge number registered.",
        ),
        _i(
            "Scans to e-mail never arrive",
            "Scanning to my e-mail from the printer in {site} sends nothing.",
            SW,
            3,
            3,
            "SMTP relay credentials on the printer updated.",
        ),
    ),
    "telephony": (
        _i(
            "Desk phone shows 'no service'",
            "My desk phone in {site} has been dead since the move.",
            HW,
            3,
            2,
            "Phone re-provisioned on the new port.",
        ),
        _i(
            "Call queue drops callers",
            "Customers calling the support line are cut off after the welcome message.",
            SW,
            2,
            1,
            "Queue routing rule repaired on {ci}.",
        ),
    ),
    "mdm": (
        _i(
            "Phone enrolment fails",
            "Enrolling my new company phone stops at 'device not allowed'.",
            SW,
            3,
            2,
            "Device serial added to the enrolment list.",
        ),
        _i(
            "Apps not installing on my laptop",
            "Required apps from device management have been 'pending' for two days.",
            SW,
            3,
            3,
            "Management agent re-registered.",
        ),
    ),
    "laptops": (
        _i(
            "Laptop does not start",
            "My laptop shows a black screen and the power light blinks orange.",
            HW,
            3,
            2,
            "Mainboard replaced under warranty; data intact.",
            "Please bring the laptop to the service desk; you get a loan laptop meanwhile.",
        ),
        _i(
            "Docking station: external monitors stay black",
            "At my desk in {site} the two screens on the dock stay black.",
            HW,
            3,
            2,
            "Dock firmware updated.",
        ),
        _i(
            "Laptop battery drains in an hour",
            "The battery is empty after about an hour even with nothing open.",
            HW,
            3,
            3,
            "Battery replaced.",
        ),
        _i(
            "Keyboard keys not working",
            "Several keys on my laptop keyboard do not type.",
            HW,
            3,
            3,
            "Keyboard replaced.",
        ),
        _i(
            "Laptop very slow after the update",
            "Since the last update everything takes ages to open.",
            SW,
            3,
            2,
            "Disk cleaned and a stuck update finished.",
        ),
    ),
    "mobile": (
        _i(
            "Company phone screen broken",
            "I dropped my phone and the screen is cracked.",
            HW,
            3,
            3,
            "Replacement phone issued and set up.",
        ),
        _i(
            "No e-mail on the company phone",
            "Mail stopped syncing on my phone yesterday.",
            SW,
            3,
            2,
            "Mail profile re-pushed from device management.",
        ),
    ),
    "software": (
        _i(
            "Request: install Visio",
            "I need Visio for process diagrams for a project.",
            REQ,
            3,
            3,
            "Installed from the software catalogue after licence approval.",
        ),
        _i(
            "Software catalogue shows no apps",
            "The self-service catalogue is empty on my laptop.",
            SW,
            3,
            3,
            "Catalogue client re-installed.",
        ),
        _i(
            "PDF editor licence expired",
            "The PDF editor says my licence expired.",
            SW,
            3,
            3,
            "Licence reassigned from the pool.",
        ),
    ),
    "rdp": (
        _i(
            "Remote desktop session freezes",
            "My virtual desktop freezes for a few seconds every minute.",
            SW,
            3,
            2,
            "Session moved off the overloaded host {ci}.",
        ),
        _i(
            "Cannot connect to the virtual desktop",
            "Connecting says 'no resources available'.",
            SW,
            2,
            2,
            "Session limit on the pool raised.",
        ),
    ),
    "erp": (
        _i(
            "ERP invoice posting fails",
            "Posting supplier invoices fails with 'period closed' although the period is open.",
            SW,
            2,
            2,
            "Period configuration corrected by the ERP team.",
        ),
        _i(
            "ERP very slow at month end",
            "Every screen in ERP takes 20 seconds to open.",
            SW,
            2,
            2,
            "Batch jobs moved out of office hours.",
            "Month-end batch jobs are slowing ERP down; we are moving them.",
        ),
        _i(
            "Cannot print delivery notes from ERP",
            "Delivery notes go nowhere when printed from ERP in {site}.",
            SW,
            3,
            2,
            "Printer mapping in ERP corrected.",
        ),
        _i(
            "ERP role missing",
            "I need the purchasing role in ERP for my new job.",
            ACCESS,
            3,
            3,
            "Role granted after manager approval.",
        ),
    ),
    "procurement": (
        _i(
            "Purchase request stuck in approval",
            "My purchase request {n} has been waiting for "
            "approval for a week; my manager sees nothing.",
            SW,
            3,
            3,
            "Approval routed to the deputy; workflow corrected.",
        ),
        _i(
            "Supplier catalogue prices wrong",
            "The catalogue shows last year's prices.",
            SW,
            3,
            3,
            "Catalogue import re-run.",
        ),
    ),
    "hr": (
        _i(
            "Leave request cannot be submitted",
            "The HR portal shows an error when I submit leave.",
            SW,
            3,
            2,
            "Leave balance recalculated; submission works.",
        ),
        _i(
            "Payslip not visible in the HR portal",
            "My last payslip is not in the portal.",
            SW,
            3,
            2,
            "Document sync re-run by the HR portal vendor.",
        ),
    ),
    "payroll": (
        _i(
            "Payroll run error for one employee",
            "The payroll test run fails for one employee with a tax table error.",
            SW,
            2,
            1,
            "Tax table updated by the vendor.",
        ),
    ),
    "crm": (
        _i(
            "CRM does not save opportunities",
            "Saving an opportunity in CRM shows 'something went wrong'.",
            SW,
            3,
            2,
            "A broken validation rule was fixed.",
        ),
        _i(
            "CRM e-mail integration not working",
            "E-mails are no longer linked to customer records.",
            SW,
            3,
            2,
            "Integration token renewed.",
        ),
    ),
    "reporting": (
        _i(
            "Sales dashboard shows yesterday's figures",
            "The sales dashboard was not refreshed this morning.",
            SW,
            3,
            2,
            "Data warehouse load re-run.",
        ),
        _i(
            "Report export to Excel fails",
            "Exporting the stock report to Excel fails.",
            SW,
            3,
            3,
            "Export size limit raised.",
        ),
    ),
    "website": (
        _i(
            "Contact form on the website not sending",
            "Customers say the contact form shows an error.",
            SW,
            2,
            2,
            "Form's mail relay credentials renewed.",
        ),
        _i(
            "Website certificate warning",
            "Browsers warn that the website certificate is invalid on one subdomain.",
            SEC,
            2,
            1,
            "Certificate renewed and deployed.",
        ),
    ),
    "servicedesk": (
        _i(
            "Hashdesk notification e-mails delayed",
            "Updates on my incident reach me by e-mail an hour late.",
            SW,
            3,
            3,
            "Mail queue of the portal cleared.",
        ),
        _i(
            "Cannot attach a screenshot to my incident",
            "Uploading a PNG to my incident fails.",
            SW,
            3,
            3,
            "Upload size limit raised for images.",
        ),
    ),
}

OUTAGES: dict[str, Outage] = {
    "email": Outage(
        "E-mail down: Outlook cannot connect",
        "Outlook says 'disconnected' and webmail does not load, for everyone.",
        "E-mail is unavailable for the whole organisation.",
        (
            "We are aware that e-mail is unavailable and are investigating.",
            "The mail gateways lost their connection to the directory; we are restoring it.",
            "Mail is flowing again for most people; queued messages are being delivered.",
            "All queued messages have been delivered. We are monitoring.",
        ),
        "A certificate on the mail gateways expired. Renewed and monitoring for expiry added.",
    ),
    "vpn": Outage(
        "VPN: nobody can connect",
        "The VPN fails with 'authentication failed' for everyone working from home.",
        "Remote access is unavailable for everyone working from home.",
        (
            "We are aware that the VPN refuses connections and are investigating.",
            "The cause is on the VPN gateways; we are failing over to the second gateway.",
            "Connections work again through the second gateway. Please reconnect.",
        ),
        "A faulty firmware update on {ci} was rolled back; both gateways are in service.",
    ),
    "sso": Outage(
        "Single sign-on down: sign-in failing everywhere",
        "Every web application shows 'sign-in failed'; people who are signed in are fine.",
        "Nobody can sign in to web applications.",
        (
            "Sign-in is failing for all web applications. We are investigating.",
            "The identity provider cannot reach the directory; the network team is involved.",
            "Sign-in works again. If you still see an error, close the browser and retry.",
        ),
        "A DNS change broke the identity provider's directory lookup; reverted.",
    ),
    "wifi-b": Outage(
        "Wi-Fi down in all of Building B",
        "No Wi-Fi anywhere in Building B; laptops see the network but cannot connect.",
        "Wi-Fi is down for the whole of Building B.",
        (
            "Wi-Fi in Building B is down; please use a cable or work from another building.",
            "The Wi-Fi controller for Building B crashed; we are restoring it from backup.",
            "Wi-Fi in Building B is back.",
        ),
        "Controller restored from backup and patched for the crash bug.",
    ),
    "wifi-a": Outage(
        "Wi-Fi outage in Building A",
        "Wi-Fi dropped for the whole of Building A at the same time.",
        "Wi-Fi is down for the whole of Building A.",
        (
            "Wi-Fi in Building A is down. We are on it.",
            "A switch feeding the access points failed; we are replacing it.",
            "Wi-Fi in Building A is back.",
        ),
        "Failed access switch replaced.",
    ),
    "erp": Outage(
        "ERP unavailable",
        "ERP shows 'service unavailable' for everyone; orders cannot be entered.",
        "ERP is unavailable; orders and invoicing are stopped.",
        (
            "ERP is unavailable. We are investigating with the ERP team.",
            "The ERP database is recovering after a storage failover; this takes a while.",
            "ERP is available again; please check the orders you entered just before the outage.",
        ),
        "Database recovered after a storage failover; the faulty controller was replaced.",
    ),
    "internet": Outage(
        "No internet access from the offices",
        "No website outside our network opens, in every building.",
        "Internet access is down in every building.",
        (
            "Internet access is down. Internal systems still work.",
            "Our primary internet uplink is down; we are moving traffic to the second line.",
            "Internet access is back through the second line.",
        ),
        "Provider repaired a fibre cut; traffic back on the primary line.",
    ),
    "chat": Outage(
        "Chat: messages not delivered",
        "Chat messages stay 'sending' and calls cannot start.",
        "Team chat is unusable for everyone.",
        (
            "Chat messages are not delivered. The provider is investigating.",
            "The chat provider confirms an outage in our region.",
            "Chat works again; messages sent during the outage have arrived.",
        ),
        "Provider-side outage resolved; no action needed on our side.",
    ),
    "printing": Outage(
        "No printing in any building",
        "Every print job fails with 'printer offline'.",
        "Printing is down in every building.",
        (
            "Printing is down everywhere. We are on it.",
            "The print server lost its licence; we are renewing it.",
            "Printing works again.",
        ),
        "Print server licence renewed and expiry monitoring added.",
    ),
    "fileshares": Outage(
        "File shares unreachable",
        "All mapped drives show a red cross and cannot be opened.",
        "File shares are unreachable for everyone.",
        (
            "File shares are unreachable. We are investigating.",
            "A storage path to the file servers failed; we are switching to the spare path.",
            "File shares are reachable again.",
        ),
        "Faulty storage path replaced.",
    ),
    "telephony": Outage(
        "Phones: incoming calls fail",
        "External callers hear a busy tone; internal calls work.",
        "Customers cannot call in.",
        (
            "Incoming calls fail. We are working with the carrier.",
            "The carrier has found a routing problem on their side.",
            "Incoming calls work again.",
        ),
        "Carrier corrected the routing of our number block.",
    ),
    "video": Outage(
        "Video meetings cannot start",
        "Joining any video meeting hangs at 'connecting'.",
        "Video meetings are unavailable.",
        (
            "Video meetings cannot start; please use phone dial-in meanwhile.",
            "Meetings work again.",
        ),
        "Provider-side incident resolved.",
    ),
}
