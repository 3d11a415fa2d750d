from awsglue import BOOKMARKS, CALLS, PENDING, SETTINGS


class Job:
    def __init__(self, glue_context):
        self._context = glue_context

    def init(self, name, args):
        CALLS.append(("Job.init", name))
        SETTINGS["bookmarks"] = args.get("job_bookmark_option") == "job-bookmark-enable"
        PENDING.clear()

    def commit(self):
        CALLS.append(("Job.commit", None))
        for ctx, files in PENDING.items() if SETTINGS["bookmarks"] else ():
            BOOKMARKS.setdefault(ctx, set()).update(files)
        PENDING.clear()
