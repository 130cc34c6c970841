"""CourseForum: the course's discussion forum as an app page — read threads, post, reply, see progress.

The forum lives in the course service on the hub; this widget talks to its JSON API as the learner
(the hub token of the learner's server), so it shows exactly what the service lets that learner see.
Posts are Markdown, rendered and sanitised here again (markdown-it + nh3) before they reach the page.
When no service is configured, or it cannot be reached, the page says so and keeps the draft.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, quote

import anywidget
import traitlets as t

from se4u.activity import module, stylesheet
from se4u.records import ServiceUnavailableError, service_request
from se4u.service.render import render_markdown

#: The most a post may hold here (the service has its own limit and says so).
MAX_POST_CHARS = 20_000

NO_SERVICE = ("The course forum opens when you take the course on the course's JupyterHub. This copy "
              "of the course runs on its own, with nobody to discuss with.")


class CourseForum(anywidget.AnyWidget):
    """The forum threads of the course's modules, with the learner's part in each."""

    _esm = module("course_forum.js")
    _css = stylesheet("course_forum.css")

    available = t.Bool(False, help="Whether the course service answered.").tag(sync=True)
    me = t.Dict(help="The signed-in person: name and whether they are an instructor.").tag(sync=True)
    threads = t.List(help="Every forum thread: id and title.").tag(sync=True)
    thread = t.Unicode("", help="The open thread's id.").tag(sync=True)
    info = t.Dict(help="The open thread: title, prompt, min_posts, min_replies.").tag(sync=True)
    posts = t.List(help="The open thread's posts, each with its sanitised HTML.").tag(sync=True)
    participation = t.Dict(help="Per learner: posts, replies, complete (a learner sees only their own)."
                           ).tag(sync=True)
    status = t.Unicode("", help="The last result or problem, announced to screen readers.").tag(sync=True)
    problem = t.Bool(False, help="Whether the status is a problem.").tag(sync=True)
    sent = t.Int(0, help="How many posts were stored from this page (the page then clears the draft)."
                 ).tag(sync=True)

    def __init__(self, thread: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_page_message)
        self.load(thread or _thread_in_query())

    # --- talking to the service ---------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """One API call; None (with the reason shown) when it failed."""
        try:
            status, answer = service_request(method, path, body)
        except ServiceUnavailableError as exc:
            self._say(f"The course forum cannot be reached right now ({exc}). Nothing you wrote is "
                      "lost: try again in a moment.", problem=True)
            return None
        if status >= 400:
            reason = answer.get("error") if isinstance(answer, dict) else None
            self._say(f"The forum refused this: {reason or f'error {status}'}.", problem=True)
            return None
        return answer if answer is not None else {}

    def _say(self, message: str, *, problem: bool = False) -> None:
        self.problem = problem
        self.status = message

    def load(self, thread: str = "") -> None:
        """Fetch who is signed in and the threads, then open ``thread`` (or the first)."""
        # Only the course's own setting: on a hub, $JUPYTERHUB_SERVICE_URL is the learner's own server.
        if not os.environ.get("SE4U_SERVICE_URL"):
            self.available = False
            self._say(NO_SERVICE)
            return
        me = self._call("GET", "api/me")
        threads = self._call("GET", "api/threads") if me is not None else None
        if me is None or not isinstance(threads, list):
            self.available = False
            return
        self.available = True
        self.me = {"name": str(me.get("name", "")), "instructor": bool(me.get("instructor"))}
        self.threads = [{"id": str(x.get("id")), "title": str(x.get("title") or x.get("id"))}
                        for x in threads if isinstance(x, dict)]
        ids = [x["id"] for x in self.threads]
        if ids:
            self.show_thread(thread if thread in ids else ids[0])
        else:
            self._say("There are no forum assignments in this course yet.")

    def show_thread(self, thread: str, *, announce: bool = True) -> None:
        """Show one thread's posts and the participation in it."""
        data = self._call("GET", f"api/threads/{quote(thread, safe='/')}/posts")
        if not isinstance(data, dict):
            return
        counts = self._call("GET", f"api/participation/{quote(thread, safe='/')}")
        info = data.get("thread") or {}
        self.thread = thread
        self.info = {key: info.get(key) for key in ("title", "prompt", "min_posts", "min_replies")}
        self.posts = [_post(p) for p in data.get("posts", []) if isinstance(p, dict)]
        self.participation = counts.get("learners", {}) if isinstance(counts, dict) else {}
        if announce:
            count = len(self.posts)
            self._say(f"{self.info.get('title') or thread}: {count} post{'' if count == 1 else 's'}.")

    # --- what the page asks for ------------------------------------------------------------------
    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "open" and content.get("thread") in {x["id"] for x in self.threads}:
            self.show_thread(content["thread"])
        elif action == "refresh":
            self.load(self.thread)
        elif action == "post":
            self.post(content.get("body"), content.get("parent_id"))
        elif action == "delete" and isinstance(content.get("id"), int):
            self.delete(content["id"])

    def post(self, body: Any, parent_id: Any = None) -> bool:
        """Send a post (or a reply to ``parent_id``) to the open thread."""
        if not isinstance(body, str) or not body.strip():
            self._say("Write something before posting.", problem=True)
            return False
        if len(body) > MAX_POST_CHARS:
            self._say(f"A post can hold {MAX_POST_CHARS:,} characters; this one has {len(body):,}. "
                      "Shorten it and post again.", problem=True)
            return False
        if parent_id is not None and not isinstance(parent_id, int):
            parent_id = None
        stored = self._call("POST", f"api/threads/{quote(self.thread, safe='/')}/posts",
                            {"body": body, "parent_id": parent_id})
        if stored is None:
            return False
        self.sent += 1
        self.show_thread(self.thread, announce=False)
        self._say("Your reply was posted." if parent_id else "Your post was published.")
        return True

    def delete(self, post_id: int) -> bool:
        """Delete one of the learner's own posts."""
        if self._call("DELETE", f"api/posts/{post_id}") is None:
            return False
        self.show_thread(self.thread, announce=False)
        self._say("Your post was deleted.")
        return True


def _post(data: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of a post; the HTML is rendered here, not taken from the network."""
    body = data.get("body") if isinstance(data.get("body"), str) else ""
    return {"id": data.get("id"), "author": str(data.get("author", "")), "parent_id": data.get("parent_id"),
            "html": render_markdown(body), "mine": bool(data.get("mine")),
            "hidden": bool(data.get("hidden")), "pinned": bool(data.get("pinned")),
            "created": str(data.get("created_at", ""))[:16].replace("T", " ")}


def _thread_in_query() -> str:
    """The ``thread`` of the page's address (``forum.ipynb?thread=…``), when Voilà passes it on."""
    values = parse_qs(os.environ.get("QUERY_STRING", "")).get("thread")
    return values[0] if values else ""


def course_forum(thread: str = "") -> CourseForum:
    """The forum app's widget (used by ``forum.ipynb``)."""
    return CourseForum(thread=thread)

