"""Drive a widget as the page would, through a comm that records what the kernel sends."""

from __future__ import annotations


class RecordingComm:
    """A comm that records what the kernel would send to the page, for tests without a browser."""

    def __init__(self, **kwargs: object) -> None:
        import uuid

        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self.opened = kwargs
        self.sent: list[dict] = []
        self.closed = False
        self.kernel = None
        self._msg_callback = None

    def send(self, data: dict | None = None, metadata: dict | None = None,
             buffers: list | None = None) -> None:
        self.sent.append({"data": data, "metadata": metadata, "buffers": buffers})

    def on_msg(self, callback) -> None:
        self._msg_callback = callback

    def on_close(self, callback) -> None:
        pass

    def close(self, *args: object, **kwargs: object) -> None:
        self.closed = True

    def page_sends(self, data: dict) -> None:
        """Deliver a message as if the page had sent it through the comm."""
        assert self._msg_callback is not None
        self._msg_callback({"content": {"data": data}, "buffers": []})


def page_action(widget, **data: object) -> None:
    """Send an action from the 'page' to a widget, through its comm like the browser would."""
    widget.comm.page_sends({"method": "custom", "content": data})


def page_sets(widget, **state: object) -> None:
    """Set traits from the 'page', through the comm like the browser would."""
    widget.comm.page_sends({"method": "update", "state": state, "buffer_paths": []})
