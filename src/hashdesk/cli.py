"""The ``hashdesk`` command: run, serve, work and administer an installation.

``hashdesk run`` is the one-command embedded mode; ``web``, ``events`` and ``worker`` are the
same pieces started one by one for a scaled-out deployment (docs/deploy.md). Everything else
is administration: migrations, the demo organisation, the audit trail, Django's checks and
management commands.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

SETTINGS_MODULE = "hashdesk.settings"
# How long the supervisor of `hashdesk run` waits for its children to stop before killing them.
STOP_TIMEOUT_SECONDS = 15.0
# The worker finishes running tasks on SIGTERM, but not for longer than this.
WORKER_SHUTDOWN_SECONDS = 10.0


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()


def _say(line: str = "") -> None:
    print(line, flush=True)


# --- Preparing the database -----------------------------------------------------------------


def prepare_installation(*, load_demo_if_empty: bool, verbosity: int = 1) -> None:
    """Migrate, create the cache table, collect static files; load the demo on a new database."""
    from django.core.management import call_command

    from hashdesk.accounts.models import User

    if verbosity:
        _say("Migrating the database ...")
    call_command("migrate", interactive=False, verbosity=0)
    # The database cache (rate limits, sign-in throttling) lives in its own table.
    call_command("createcachetable", verbosity=0)
    if verbosity:
        _say("Collecting static files ...")
    call_command("collectstatic", interactive=False, verbosity=0)
    if load_demo_if_empty and not User.objects.exists():
        _say("The database is empty: loading the demo organisation ...")
        _load_demo()


def _load_demo(
    incidents: int | None = None,
    posts: int | None = None,
    chat_messages: int | None = None,
    changes: int | None = None,
) -> None:
    from hashdesk.demo.incidents import DEMO_INCIDENTS
    from hashdesk.demo.loader import load_demo

    summary = load_demo(
        incidents=DEMO_INCIDENTS if incidents is None else incidents,
        posts=posts,
        chat_messages=chat_messages,
        changes=changes,
        progress=lambda step: _say(f"  {step} ..."),
    )
    _say(summary.describe())
    if summary.changed:
        # Learning routing from a year of history takes the better part of a minute: the worker
        # does it in the background instead of holding up the start.
        from hashdesk.insights.routing_tasks import retrain_routing

        retrain_routing()
        _say("  routing suggestions: learning from the demo history in the background")


def _print_sign_ins() -> None:
    from hashdesk.accounts.models import User
    from hashdesk.demo import DEMO_PASSWORD, demo_sign_ins

    accounts = demo_sign_ins()
    present = set(
        User.objects.filter(email__in=[a.email for a in accounts], is_active=True).values_list(
            "email", flat=True
        )
    )
    shown = [a for a in accounts if a.email in present]
    if not shown:
        return
    _say(f"Demo sign-ins (password: {DEMO_PASSWORD}):")
    width = max(len(a.role) for a in shown)
    for account in shown:
        _say(f"  {account.role:<{width}}  {account.email}")


# --- Commands -------------------------------------------------------------------------------


def _python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _granian_argv(settings: Any) -> list[str]:
    return _python_module(
        "granian",
        "--interface",
        "wsgi",
        "--host",
        settings.WEB_HOST,
        "--port",
        str(settings.WEB_PORT),
        "--workers",
        str(settings.WEB_WORKERS),
        "--blocking-threads",
        str(settings.WEB_THREADS),
        "--no-ws",
        "--log-level",
        settings.LOG_LEVEL.lower(),
        "hashdesk.wsgi:application",
    )


def _metrics_env() -> dict[str, str]:
    """Share Prometheus values between processes, unless the operator chose a directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return {}
    from hashdesk.core.metrics import prepare_multiprocess_dir

    return {"PROMETHEUS_MULTIPROC_DIR": prepare_multiprocess_dir()}


def cmd_run(args: argparse.Namespace) -> int:
    """Everything on one machine: web server, event server and worker as one process tree."""
    _setup_django()
    from django.conf import settings
    from django.db import connections

    from hashdesk.ops.supervisor import ChildSpec, Supervisor

    prepare_installation(load_demo_if_empty=not args.no_demo)
    connections.close_all()
    env = {"HASHDESK_DATA_DIR": str(settings.DATA_DIR), **_metrics_env()}
    children = [
        ChildSpec("web", _granian_argv(settings), env=env),
        ChildSpec("events", _python_module("hashdesk.cli", "events"), env=env),
        ChildSpec("worker", _python_module("hashdesk.cli", "worker"), env=env),
    ]
    if settings.SMTPD_IN_RUN:
        children.append(ChildSpec("smtpd", _python_module("hashdesk.cli", "smtpd"), env=env))
    _say("")
    _say(f"Hashdesk is starting on {settings.PUBLIC_URL}")
    _say(
        f"  web server: {settings.WEB_WORKERS} granian WSGI workers of {settings.WEB_THREADS} "
        f"threads on port {settings.WEB_PORT}"
    )
    _say(f"  live updates: {settings.EVENTS_PUBLIC_URL}")
    _say(f"  data directory: {settings.DATA_DIR}")
    _print_sign_ins()
    _say("Press Ctrl-C to stop.")
    _say("")
    supervisor = Supervisor(children, stop_timeout=STOP_TIMEOUT_SECONDS)
    return supervisor.run()


def cmd_web(args: argparse.Namespace) -> int:
    """Only the WSGI web server (granian), for scaled-out deployments."""
    _setup_django()
    from django.conf import settings

    argv = _granian_argv(settings)
    os.environ.update(_metrics_env())
    # Replace this process: signals from the service manager reach granian directly.
    os.execv(argv[0], argv)  # noqa: S606
    return 0  # not reached


def cmd_events(args: argparse.Namespace) -> int:
    """Only the WebSocket event server."""
    _setup_django()
    from hashdesk.realtime.server import run_event_server

    run_event_server()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Only the background worker (huey consumer with the periodic scheduler)."""
    _setup_django()
    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules
    from huey.consumer_options import ConsumerConfig
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    options: dict[str, Any] = {
        # SIGTERM (service managers, `hashdesk run`) lets running tasks finish.
        "graceful_signal": "TERM",
        "shutdown_timeout": WORKER_SHUTDOWN_SECONDS,
    }
    consumer_settings = cast(dict[str, Any], settings.HUEY.get("consumer", {}))
    options.update(consumer_settings)
    if args.threads:
        options["workers"] = args.threads
    config = ConsumerConfig(**options)
    config.validate()
    consumer = HUEY.create_consumer(**config.values)
    consumer.run()
    return 0


def cmd_smtpd(args: argparse.Namespace) -> int:
    """Only the inbound mail listener (docs/integrations/mail.md)."""
    _setup_django()
    from hashdesk.integrations.mail.smtpd import serve

    serve(args.host, args.port)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    call_command("createcachetable", verbosity=args.verbosity)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load (or complete) the demo organisation."""
    _setup_django()
    _load_demo(args.incidents, args.posts, args.chat_messages, args.changes)
    _print_sign_ins()
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _setup_django()
    from hashdesk.audit.trail import verify

    result = verify()
    if result.ok:
        _say(f"Audit trail intact: {result.checked} rows checked.")
        return 0
    print(
        f"Audit trail BROKEN at row {result.sequence}: {result.problem} "
        f"({result.checked} rows before it are intact).",
        file=sys.stderr,
    )
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    _setup_django()
    from hashdesk.integrations.transfer.command import run_import

    return run_import(args)


def cmd_check(args: argparse.Namespace) -> int:
    """Django's system checks; with --deploy, any warning fails (production readiness)."""
    _setup_django()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=args.deploy, fail_level="WARNING" if args.deploy else "ERROR")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _read_new_password() -> str:
    from_env = os.environ.get("HASHDESK_ADMIN_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise SystemExit("The two passwords differ.")
    return first


def cmd_createadmin(args: argparse.Namespace) -> int:
    """Create an administrator (password from HASHDESK_ADMIN_PASSWORD, stdin or a prompt)."""
    _setup_django()
    from hashdesk.accounts.actions import do_create_user
    from hashdesk.accounts.choices import Role
    from hashdesk.core.errors import DomainError

    email = args.email or input("Email: ").strip()
    name = args.name or input("Display name: ").strip()
    try:
        user = do_create_user(
            None,
            email=email,
            display_name=name,
            password=_read_new_password(),
            roles=[Role.ADMINISTRATOR],
        )
    except DomainError as exc:
        print(f"Not created: {exc.detail}", file=sys.stderr)
        return 1
    _say(f"Administrator {user.email} created.")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Delivery backlog at a glance; give failed deliveries another round of attempts."""
    _setup_django()
    from django.db.models import Count

    from hashdesk.core import outbox
    from hashdesk.core.models import OutboxMessage, OutboxStatus

    if args.outbox_command == "retry":
        count = outbox.requeue_failed(args.ids or None)
        _say(f"{count} failed deliveries queued again.")
        return 0
    counts = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    for status in OutboxStatus:
        _say(f"{status.label:<18} {counts.get(status.value, 0)}")
    for message in OutboxMessage.objects.filter(status=OutboxStatus.FAILED).order_by("-id")[:20]:
        _say(f"  failed #{message.pk} {message.channel} after {message.attempts} attempts: "
             f"{message.last_error[:120]}")  # fmt: skip
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    """Any Django management command: `hashdesk manage shell`, `... makemigrations`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["hashdesk manage", *args.arguments])
    return 0


# --- Argument parsing -----------------------------------------------------------------------

# `hashdesk eval NAME ...`: each is hashdesk.insights.evaluation.NAME, with add_arguments(parser)
# and run(args) -> exit status. They read files only: no database, no Django.
EVALUATIONS = {
    "bursts": "NAB scores of the streaming burst detector on a NAB-layout folder, beside the "
    "published detectors'.",
    "duplicates": "Recall@1/5/10 and MRR of finding a report's earlier duplicate (GitBugs "
    "layout), beside plain BM25.",
    "routing": "Accuracy and macro-F1 of assignment-group suggestion on a ticket CSV, beside "
    "the majority and TF-IDF + linear-model baselines.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashdesk",
        description="Hashdesk, the social IT service desk. Configuration comes from HASHDESK_* "
        "environment variables (docs/deploy.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> Any:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    run = add(
        "run",
        cmd_run,
        "Prepare the database and serve everything (web, live updates, worker) as one "
        "process tree; Ctrl-C stops it all.",
    )
    run.add_argument(
        "--no-demo", action="store_true", help="do not load the demo organisation when empty"
    )
    add("web", cmd_web, "Serve the web app and API with granian (WSGI worker processes).")
    add("events", cmd_events, "Serve live updates (the WebSocket event server).")
    worker = add("worker", cmd_worker, "Run background tasks and the periodic scheduler.")
    worker.add_argument("--threads", type=int, help="worker threads (HASHDESK_WORKER_THREADS)")
    smtpd = add("smtpd", cmd_smtpd, "Receive mail: new incidents and replies (aiosmtpd).")
    smtpd.add_argument("--host", help="listen address (HASHDESK_SMTPD_HOST)")
    smtpd.add_argument("--port", type=int, help="port (HASHDESK_SMTPD_PORT)")
    migrate = add("migrate", cmd_migrate, "Apply database migrations.")
    migrate.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])
    demo = add("demo", cmd_demo, "Load the demo organisation (idempotent).")
    demo.add_argument(
        "--incidents",
        type=_non_negative,
        metavar="N",
        help="how many incidents of history to add to a database without incidents "
        "(default 30000; 0 for none)",
    )
    demo.add_argument(
        "--posts",
        type=_non_negative,
        metavar="N",
        help="how many wall posts to add to a database without posts "
        "(default 20000 for 30000 incidents, in proportion to --incidents; 0 for none)",
    )
    demo.add_argument(
        "--chat-messages",
        type=_non_negative,
        metavar="N",
        help="how many service-room messages to add to a database without chat messages, "
        "with live-help conversations (default 3000 for 30000 incidents, in proportion to "
        "--incidents; 0 for none)",
    )
    demo.add_argument(
        "--changes",
        type=_non_negative,
        metavar="N",
        help="how many changes to add to a database without changes, with the CAB, freezes "
        "and correlations (default 300 for 30000 incidents, in proportion to --incidents; "
        "0 for none)",
    )

    audit = add("audit", lambda _args: _usage(audit), "Audit trail tools.")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    audit_commands.add_parser(
        "verify",
        help="Check the hash chain; exit 1 naming the first altered, deleted or re-ordered row.",
    ).set_defaults(handler=cmd_audit_verify)

    check = add("check", cmd_check, "Run Django's system checks.")
    check.add_argument(
        "--deploy", action="store_true", help="include production checks; warnings fail"
    )
    admin = add("createadmin", cmd_createadmin, "Create an administrator account.")
    admin.add_argument("--email")
    admin.add_argument("--name", help="display name")

    box = add("outbox", cmd_outbox, "Show the delivery outbox, or retry failed deliveries.")
    box_commands = box.add_subparsers(dest="outbox_command", metavar="ACTION")
    box_commands.add_parser("status", help="counts by status and the latest failures")
    retry = box_commands.add_parser("retry", help="queue failed deliveries again")
    retry.add_argument("ids", nargs="*", type=int, help="only these messages (default: all)")

    evaluate = add(
        "eval",
        lambda _args: _usage(evaluate),
        'Measure the insight engine on a data folder (docs/insights.md, "Evaluation").',
    )
    eval_commands = evaluate.add_subparsers(dest="eval_command", metavar="WHAT")
    for name, help_text in EVALUATIONS.items():
        sub = eval_commands.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(f"hashdesk.insights.evaluation.{name}")
        module.add_arguments(sub)
        sub.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
        sub.set_defaults(handler=module.run)

    importing = add(
        "import",
        cmd_import,
        "Import services, people or historical incidents from a CSV or JSON file, all or "
        "nothing (docs/integrations/transfer.md).",
    )
    importing.add_argument("kind", choices=["services", "people", "incidents"])
    importing.add_argument("file", help="a .csv or .json file (UTF-8)")
    importing.add_argument(
        "--dry-run", action="store_true", help="check every row and change nothing"
    )
    importing.add_argument("--format", choices=["csv", "json"], help="default: from the name")

    manage = add("manage", cmd_manage, "Run a Django management command.")
    manage.add_argument("arguments", nargs=argparse.REMAINDER, help="command and its options")
    return parser


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    from hashdesk.config import ConfigurationError

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["manage"]:
        # Everything after `manage` belongs to Django, options included (argparse would
        # take `--help` or `-v 2` for itself).
        args = argparse.Namespace(handler=cmd_manage, arguments=arguments[1:])
    else:
        args = build_parser().parse_args(arguments)

    try:
        code = args.handler(args)
    except ConfigurationError as exc:
        # An unsafe or inconsistent environment: say what to set, without a traceback.
        print(f"hashdesk: configuration error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    # A broken pipe (`hashdesk outbox | head`) is not an error worth a traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
