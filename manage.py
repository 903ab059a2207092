#!/usr/bin/env python
import os
import secrets
import sys

# Commands that only compare the models with the migrations: they sign, serve and send
# nothing, so they run in a fresh checkout without SECRET_KEY (which settings require when
# DEBUG is off). The key they get is random and lives only as long as the command.
SCHEMA_ONLY_COMMANDS = frozenset({"makemigrations", "showmigrations", "sqlmigrate"})


def main():
    from config.dotenv import load_dotenv

    load_dotenv()
    if len(sys.argv) > 1 and sys.argv[1] in SCHEMA_ONLY_COMMANDS and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
