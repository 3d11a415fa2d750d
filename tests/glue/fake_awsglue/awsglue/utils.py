import argparse

from awsglue import CALLS


class GlueArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # like Glue: raise instead of exiting
        raise GlueArgumentError(message)


def getResolvedOptions(args, options):  # noqa: N802 - Glue's name
    CALLS.append(("getResolvedOptions", list(options)))
    parser = _Parser()
    parser.add_argument("--job-bookmark-option", default="job-bookmark-disable",
                        choices=["job-bookmark-enable", "job-bookmark-pause",
                                 "job-bookmark-disable"])
    for option in options:
        parser.add_argument(f"--{option}", required=True)
    parsed, _extra = parser.parse_known_args(args[1:])
    return vars(parsed)
