"""The modal loop shared by operators that wait for a backend job (retarget from video,
apply a photo to a character): progress in the status bar and the panel, Esc or the
panel's Cancel stops the job, the result is written when it arrives."""
from __future__ import annotations

from inference.errors import UserError


class BackendJobModal:
    """Mixin for a ``bpy.types.Operator``: set ``_client`` and ``_job``, return
    :meth:`begin_modal`; implement ``_apply_result(context, result)``. ``JOB_LABEL`` names
    the work in the status bar, ``UNCHANGED`` what a cancel leaves as it was."""
    JOB_LABEL = "photo2avatar"
    UNCHANGED = "the scene is unchanged"
    _timer = None
    _job = None
    _client = None

    def begin_modal(self, context):
        wm = context.window_manager
        wm.photo2avatar_busy, wm.photo2avatar_cancel = True, False
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        wm = context.window_manager
        job = self._job
        if event.type == "ESC" or wm.photo2avatar_cancel:
            self._client.cancel(job)
            self._end(context)
            self.report({"WARNING"}, f"{self.JOB_LABEL} cancelled; {self.UNCHANGED}")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        state = job.poll()
        wm.photo2avatar_progress, wm.photo2avatar_status = job.fraction * 100.0, job.message
        context.workspace.status_text_set(f"photo2avatar {self.JOB_LABEL}: {job.message} {job.fraction:.0%} "
                                          "(Esc cancels)")
        if state == "running":
            return {"RUNNING_MODAL"}
        self._end(context)
        if state != "done":
            if state == "error":
                self.report({"ERROR"}, job.error)
            return {"CANCELLED"}
        try:
            return self._apply_result(context, job.result)
        except (UserError, ValueError, OSError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}

    def _end(self, context):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.photo2avatar_busy = False
        context.workspace.status_text_set(None)
        self._ended()

    def _ended(self) -> None:
        """After the loop stops, whatever the outcome (cleanup hook)."""
