"""Command line: ``python -m server serve|migrate|seed-demo``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys

from server.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="Meridian")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", help="address to listen on (default HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default PORT or 8080)")
    commands.add_parser("migrate", help="upgrade the database schema to the latest version")
    commands.add_parser(
        "seed-demo", help="fill an empty database with demo mentors, mentees and a mentorship"
    )
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env(os.environ)
        if getattr(args, "host", None):
            settings = settings.replace(host=args.host)
        if getattr(args, "port", None) is not None:
            if not 1 <= args.port <= 65535:
                raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
            settings = settings.replace(port=args.port)
    except ConfigError as exc:
        print(f"meridian: configuration error: {exc}", file=sys.stderr)
        return 2

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level != "DEBUG":
        # Alembic narrates every plugin and revision at INFO; one line of ours says it all.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve":
        if settings.is_sqlite:
            # In a child process: the migration machinery (Alembic, Mako) then never
            # occupies the memory of the long-running server.
            migrated = subprocess.run([sys.executable, "-m", "server", "migrate"], check=False)
            if migrated.returncode != 0:
                return migrated.returncode
        from server.runner import serve_forever

        asyncio.run(serve_forever(settings))
        return 0

    from server.db.migrate import upgrade

    if args.command == "migrate":
        before, after = upgrade(settings.database_url)
        if before == after:
            print(f"meridian: database schema is up to date ({after})")
        else:
            print(f"meridian: database schema upgraded from {before or 'empty'} to {after}")
        return 0
    if args.command == "seed-demo":
        from server.core.clock import SystemClock
        from server.mentorship.demo import DemoRefused, seed_demo, sign_in_table

        upgrade(settings.database_url)
        try:
            people = asyncio.run(
                seed_demo(database_url=settings.database_url, now=SystemClock().now())
            )
        except DemoRefused as exc:
            print(f"meridian: seed-demo refused: {exc}", file=sys.stderr)
            return 1
        print(sign_in_table(people, settings.public_url))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
