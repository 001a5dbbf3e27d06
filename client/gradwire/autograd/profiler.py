"""``gw.autograd.profiler``: torch's legacy profiler names, the same collection as ``gw.profiler``'s."""

from __future__ import annotations

from .. import profiler as _profiler
from ..profiler import EventList, FunctionEvent, FunctionEventAvg, record_function

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]


class profile(_profiler.profile):
    """``torch.autograd.profiler.profile``: ``gw.profiler.profile`` with the legacy arguments (``use_cuda``,
    ``use_device="cuda"``: the CUDA columns); ``enabled=False`` records nothing. ``table()`` is its key averages'."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False, profile_memory=False,
                 with_stack=False, with_modules=False, use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None, activity_filters=None, session=None):
        activities = [_profiler.ProfilerActivity.CPU]
        if use_cuda or use_device == "cuda":
            activities.append(_profiler.ProfilerActivity.CUDA)
        super().__init__(activities=activities, record_shapes=record_shapes, profile_memory=profile_memory, with_stack=with_stack,
                         acc_events=acc_events, session=session)
        self.enabled = enabled

    def start(self):
        if self.enabled:
            super().start()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        if self._events is None:
            return EventList()
        return super().key_averages(group_by_input_shape, group_by_stack_n)

    def events(self):
        return self._events if self._events is not None else EventList()

    @property
    def function_events(self):
        return self.events()

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55, max_shapes_column_width=80,
              header=None, top_level_events_only=False):
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, max_name_column_width=max_name_column_width,
                                         max_shapes_column_width=max_shapes_column_width, header=header,
                                         top_level_events_only=top_level_events_only)

    @property
    def self_cpu_time_total(self):
        return self.events().self_cpu_time_total
